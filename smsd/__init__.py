"""smsd: SMS gateway appliance daemon."""

__version__ = "0.3.0"
