"""The `HTTPServer` connection: the provider posts the messages it has for the box (mobile
originated SMS) to `/connections/<name>` on the box's own HTTP front, with the parameter names
of the PARAMNAME* keys, and is answered with RESPONSETEMPLATE ($msgid: the inbox id).

Nothing runs here: the front end hands the request's parameters to the service, which asks
`read` for the message and stores it. SECRET (smsd's own key), when set, must come along as the
`secret` parameter: anyone who can reach the box's HTTP port could otherwise fill its inbox
(the service counts wrong secrets in the login throttle).
"""
from __future__ import annotations

import hmac
import time
from typing import Mapping

from smsd.connections.base import Idle, Outcome, Outgoing, Received, Status, on

MAX_TEXT = 1600
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%y%m%d%H%M%S")


class RequestRefused(ValueError):
    """A post the connection does not take (the reason is answered)."""


class HttpServerConnection(Idle):
    kind = "HTTPServer"

    def status(self) -> Status:
        if not self._running:
            return Status(False, "stopped")
        open_to_all = "" if self.guarded else " (no SECRET: anyone reaching the HTTP port may post)"
        return Status(False, f"receiving on /connections/{self.name}{open_to_all}")

    def submit(self, message: Outgoing) -> Outcome:
        return Outcome(False, reason="an HTTPServer connection only receives", on_air=False)

    @property
    def guarded(self) -> bool:
        return bool(self.s.get("SECRET", ""))

    def secret_ok(self, params: Mapping[str, str]) -> bool:
        """The post carries SECRET as `secret` (always true when no SECRET is set)."""
        secret = self.s.get("SECRET", "")
        return not secret or hmac.compare_digest(params.get("secret", "").encode(),
                                                 secret.encode())

    def param(self, key: str, default: str) -> str:
        return self.s.get(key, default).strip() or default

    def read(self, params: Mapping[str, str]) -> Received:
        """The posted message; RequestRefused when it cannot be taken."""
        if not self._running or not on(self.s.get("RECEIVE", "on")):
            raise RequestRefused(f"connection {self.name} does not receive now")
        sender = params.get(self.param("PARAMNAMEORIGINATOR", "originator"), "").strip()
        text = params.get(self.param("PARAMNAMEMESSAGEDATA", "msg"), "")
        subject = params.get(self.param("PARAMNAMESUBJECT", "subject"), "")
        recipient = params.get(self.param("PARAMNAMERECIPIENT", "recipient"), "").strip()
        if not sender or len(sender) > 32 or not sender.isprintable():
            raise RequestRefused("originator is missing or malformed")
        text = text or subject
        if not text or len(text) > MAX_TEXT:
            raise RequestRefused(f"message data must be 1 to {MAX_TEXT} characters")
        sent = _when(params.get(self.param("PARAMNAMESENTTIME", "senttime"), ""))
        return Received(sender, recipient[:32] or self.s.get("PHONENUMBER", ""), text, sent)

    def answer(self, inbox_id: int) -> str:
        template = self.s.get("RESPONSETEMPLATE", "Message was accepted id: $msgid")
        return template.replace("$msgid", str(inbox_id))


def _when(text: str) -> float | None:
    for fmt in _TIME_FORMATS:
        try:
            return time.mktime(time.strptime(text.strip(), fmt))
        except ValueError:
            continue
    return None
