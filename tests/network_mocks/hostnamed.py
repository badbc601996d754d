"""dbusmock template: systemd-hostnamed's setters and the two host name properties."""
import dbus

BUS_NAME = "org.freedesktop.hostname1"
MAIN_OBJ = "/org/freedesktop/hostname1"
MAIN_IFACE = "org.freedesktop.hostname1"
SYSTEM_BUS = True


def load(mock, parameters):
    mock.AddMethods(MAIN_IFACE, [
        ("SetStaticHostname", "sb", "", f'self.Set("{MAIN_IFACE}", "StaticHostname", args[0])'),
        ("SetHostname", "sb", "", f'self.Set("{MAIN_IFACE}", "Hostname", args[0])'),
    ])
    name = parameters.get("StaticHostname", "smsd")
    mock.AddProperties(MAIN_IFACE, dbus.Dictionary(
        {"StaticHostname": name, "Hostname": parameters.get("Hostname", name)}, signature="sv"))
