"""dbusmock template: the part of systemd-networkd's Manager that smsd calls.

Links are named in the parameters ({"links": {"eth0": 2}}); GetLinkByName on any other name
fails like networkd does, so tests can make an apply fail half-way.
"""
import dbus

BUS_NAME = "org.freedesktop.network1"
MAIN_OBJ = "/org/freedesktop/network1"
MAIN_IFACE = "org.freedesktop.network1.Manager"
SYSTEM_BUS = True


def load(mock, parameters):
    links = dict(parameters.get("links", {"eth0": 2}))

    def get_link_by_name(self, name):
        if name not in links:
            raise dbus.exceptions.DBusException(f"Link {name} not known",
                                                name="org.freedesktop.network1.NoSuchLink")
        index = links[name]
        return (dbus.Int32(index), dbus.ObjectPath(f"/org/freedesktop/network1/link/_3{index}"))

    mock.AddMethods(MAIN_IFACE, [
        ("Reload", "", "", ""),
        ("ReconfigureLink", "i", "", ""),
        ("GetLinkByName", "s", "io", get_link_by_name),
    ])
