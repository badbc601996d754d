"""smsd: SMS gateway appliance daemon."""

__version__ = "0.1.0"
