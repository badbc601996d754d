"""The modem-board simulator that ships with the product (see docs/INTERFACES.md, smsd.sim).

Every port is a real pty speaking real AT bytes, so the daemon runs unchanged above pyserial.
"""
from smsd.sim.board import SimBoard, SimIdentity
from smsd.sim.timing import SimTiming

__all__ = ["SimBoard", "SimIdentity", "SimTiming"]
