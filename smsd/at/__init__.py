"""Sans-I/O AT engine: bytes in, events out; time is an argument. See docs/INTERFACES.md."""
from .engine import CTRL_Z, AtEngine, AtProtocolError
from .events import Command, CommandError, Discarded, Event, Final, Response, Timeout, Urc

__all__ = ["AtEngine", "AtProtocolError", "CTRL_Z", "Command", "CommandError", "Discarded",
           "Event", "Final", "Response", "Timeout", "Urc"]
