"""smsd: SMS gateway appliance daemon."""

__version__ = "0.2.0"
