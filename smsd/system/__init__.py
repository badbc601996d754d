"""Appliance duties: device status, watchdog, network, tunnel."""
