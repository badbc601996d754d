"""Any TS 27.007 modem: standard commands only; network type from the AcT of +COPS?."""
from . import Profile

PROFILE = Profile(name="generic")
