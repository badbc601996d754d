"""Users: authentication with a login throttle, permissions, credits, port and route assignments.

Every dialect and the web pages authenticate through `Users.authenticate()`, so the throttle and
the permission rule hold for all of them alike.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable, TypeVar

from smsd.errors import AuthError, BadRequest, Forbidden, InsufficientCredit, NotFound
from smsd.model import DEFAULT_PERMISSIONS, PERMISSIONS, UserInfo
from smsd.store.db import Store
from smsd.throttle import FailureThrottle

MAX_PORTS = 32                    # a box has at most 32 modem ports (0..31)
_SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}").fullmatch
# Front ends whose clients may send the SHA-1 hex of the password instead of the password (the
# gateway.php vendor documents it); a vendor difference held as data, not as a test of a name.
SHA1_PASSWORD_PERMS = frozenset({"api:gateway_php"})
# Basic auth splits on the first ':' and Digest quotes the name: keep names plain.
_USER_NAME = re.compile(r"[A-Za-z0-9_.@+-]{1,64}").fullmatch
T = TypeVar("T")


def parse_perms(text: str) -> frozenset[str]:
    """"web,api:*" -> the permission set; "api:*" means every API, "*" everything."""
    out: set[str] = set()
    for item in (p.strip() for p in text.split(",")):
        if item in ("*", "all"):
            out.update(PERMISSIONS)
        elif item == "api:*":
            out.update(p for p in PERMISSIONS if p.startswith("api:"))
        elif item in PERMISSIONS:
            out.add(item)
        elif item:
            raise BadRequest(f"unknown permission {item!r}: use {', '.join(PERMISSIONS)}")
    return frozenset(out)


def _grants(info: UserInfo, perm: str) -> bool:
    """A disabled user is refused everywhere; an admin holds every permission."""
    return not info.disabled and (info.admin or perm in info.perms)


def _check_perms(perms: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(perms)
    unknown = wanted - set(PERMISSIONS)
    if unknown:
        raise BadRequest(f"unknown permission(s) {', '.join(sorted(unknown))}")
    return wanted


def _check_password(password: str) -> None:
    """Not empty, and no NUL: scrypt keys HMAC with the password, and HMAC pads a short key with
    NULs, so "pw" and "pw\\0" would be one password (the store refuses such a guess too)."""
    if not password:
        raise BadRequest("empty password")
    if "\0" in password:
        raise BadRequest("a password may not contain a NUL character")


def _check_credits(credits: int | None) -> None:
    if credits is not None and (isinstance(credits, bool) or credits < 0):
        raise BadRequest("credits must be a whole number >= 0, or unlimited")


def _check_ports(ports: Iterable[int]) -> list[int]:
    wanted = list(ports)
    for port in wanted:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < MAX_PORTS:
            raise BadRequest(f"port {port!r}: a port number 0..{MAX_PORTS - 1}")
    return wanted


class Users:
    def __init__(self, store: Store, throttle: FailureThrottle) -> None:
        self._store = store
        self._throttle = throttle
        self._password_listeners: list[Callable[[str], None]] = []

    def on_password_change(self, listener: Callable[[str], None]) -> None:
        """Call `listener(name)` after `name`'s password changed or the user was deleted or
        disabled: the web console ends that user's sessions (a stolen session must not outlive
        the password)."""
        self._password_listeners.append(listener)

    def _password_changed(self, name: str) -> None:
        for listener in self._password_listeners:
            listener(name)

    # --- authentication -------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, perm: str, *, remote: str = "") -> str:
        """The user name when the credentials are good and grant `perm`.

        Throttled (an AuthError) at once, without a look at the password, while too many recent
        failures block this address or name (smsd/throttle.py); AuthError for bad credentials;
        Forbidden when `perm` is missing."""
        if perm not in PERMISSIONS:
            raise BadRequest(f"unknown permission {perm!r}")
        self._throttle.check(name, remote)
        info = self._password_ok(name, password, perm, remote)    # a failure is counted
        if info is None:
            raise AuthError("bad user name or password")
        self.succeeded(name, remote=remote)
        if not _grants(info, perm):
            raise Forbidden(f"user {name!r} lacks permission {perm}")
        return name

    def throttle_check(self, name: str, *, remote: str = "") -> None:
        """For schemes that check credentials elsewhere (HTTP Digest): Throttled while blocked."""
        self._throttle.check(name, remote)

    def failed(self, name: str, *, remote: str = "") -> None:
        """Count a failure (also for HTTP Digest, checked elsewhere), raise AuthError."""
        self._throttle.failed(name, remote)
        raise AuthError("bad user name or password")

    def succeeded(self, name: str, *, remote: str = "") -> None:
        self._throttle.succeeded(name, remote)

    def _password_ok(self, name: str, password: str, perm: str, remote: str) -> UserInfo | None:
        """The user, read with the password (or its SHA-1 hex, for the permissions that take
        one) it was checked against, inside the throttle's limit of simultaneous slow checks."""
        def plain(gate: Callable[[], None]) -> UserInfo | None:
            return self._store.users.login(name, password, before_slow=gate)

        def sha1(gate: Callable[[], None]) -> UserInfo | None:
            if perm in SHA1_PASSWORD_PERMS and _SHA1_HEX(password) is not None:
                return self._store.users.login_sha1(name, password, before_slow=gate)
            return None
        return self._limited(name, remote, plain, sha1)

    def check_limited(self, name: str, password: str, remote: str,
                      also: Callable[[str, str], bool]) -> bool:
        """The user's password, else `also` (another slow secret of theirs, e.g. the SMPP
        password), checked inside the throttle's limit of simultaneous slow checks as every
        login is (each scrypt holds 16 MiB); a failure is counted. Throttled when blocked."""
        def mine(gate: Callable[[], None]) -> bool | None:
            return self._store.users.check(name, password, before_slow=gate) or None

        def other(gate: Callable[[], None]) -> bool | None:
            gate()
            return also(name, password) or None
        return self._limited(name, remote, mine, other) is not None

    def _limited(self, name: str, remote: str,
                 *checks: Callable[[Callable[[], None]], T | None]) -> T | None:
        """The first of `checks` that finds the secret right (not None), each slow hash behind
        the gate it is given: one slot of the throttle's limit of simultaneous checks per login,
        however many hashes it computes; a failure is counted before that slot is given back, so
        the next check sees it."""
        releases: list[Callable[[], None]] = []

        def before_slow() -> None:
            if not releases:
                releases.append(self._throttle.begin_slow_check(name, remote))

        try:
            for check in checks:
                found = check(before_slow)
                if found is not None:
                    return found
            self._throttle.failed(name, remote)
            return None
        finally:
            for release in releases:
                release()

    def has_perm(self, name: str, perm: str) -> bool:
        info = self._store.users.info(name)
        return info is not None and _grants(info, perm)

    # --- accounts -------------------------------------------------------------------------------
    def all(self) -> list[UserInfo]:
        return self._store.users.all()

    def get(self, name: str) -> UserInfo:
        info = self._store.users.info(name)
        if info is None:
            raise NotFound(f"no user {name!r}")
        return info

    def credits(self, name: str) -> int | None:
        return self.get(name).credits

    def add(self, name: str, password: str, *, perms: Iterable[str] = DEFAULT_PERMISSIONS,
                 admin: bool = False, credits: int | None = None, digest: bool = False) -> None:
        """`digest`: keep HTTP Digest secrets for this user (docs/security.md)."""
        if not _USER_NAME(name):
            raise BadRequest("user name: 1 to 64 of letters, digits and _ . @ + -")
        _check_password(password)
        _check_credits(credits)
        if not self._store.users.add(name, password, perms=_check_perms(perms), admin=admin,
                                     credits=credits, digest=digest):
            raise BadRequest(f"user {name!r} exists")

    def passwd(self, name: str, password: str, *, digest: bool | None = None) -> None:
        """`digest` turns HTTP Digest on or off with the new password (None: as it was)."""
        _check_password(password)
        if not self._store.users.set_password(name, password, digest=digest):
            raise NotFound(f"no user {name!r}")
        self._password_changed(name)

    def set_digest(self, name: str, password: str | None) -> None:
        """HTTP Digest on, its secrets made from the user's current `password` (checked: a wrong
        one is a BadRequest), or off (None: the secrets are dropped)."""
        self.get(name)                                     # NotFound
        if password is not None and not self._store.users.check(name, password):
            raise BadRequest(f"that is not the password of {name!r}")
        self._store.users.set_digest(name, password)

    def digest_algorithms(self, name: str) -> list[str]:
        """The HTTP Digest algorithms `name` can log in with, best first; [] when off."""
        return self._store.users.digest_algorithms(name)

    def set_perms(self, name: str, perms: Iterable[str]) -> None:
        if not self._store.users.update(name, perms=_check_perms(perms)):
            raise NotFound(f"no user {name!r}")

    def set_admin(self, name: str, admin: bool) -> None:
        if not self._store.users.update(name, admin=int(admin)):
            raise NotFound(f"no user {name!r}")

    def edit(self, name: str, *, perms: Iterable[str], admin: bool, credits: int | None,
             ports: Iterable[int], routes: Iterable[int]) -> None:
        """Replace a user's permissions, admin flag, credits and inbound assignments at once (the
        console's user form): every value is checked before the first is written."""
        self.get(name)                                     # NotFound
        wanted_perms = _check_perms(perms)
        _check_credits(credits)
        wanted_ports, wanted_routes = _check_ports(ports), self._check_routes(routes)
        self._store.users.update(name, perms=wanted_perms, admin=int(admin), credits=credits)
        self._store.users.assign(name, "port", wanted_ports)
        self._store.users.assign(name, "route", wanted_routes)

    def set_disabled(self, name: str, disabled: bool) -> None:
        """A disabled user keeps everything but is refused by every front end (no permission
        holds) until enabled; disabling ends the user's web sessions."""
        if not self._store.users.update(name, disabled=int(disabled)):
            raise NotFound(f"no user {name!r}")
        if disabled:
            self._password_changed(name)

    def set_credits(self, name: str, credits: int | None) -> None:
        _check_credits(credits)
        if not self._store.users.update(name, credits=credits):
            raise NotFound(f"no user {name!r}")

    def set_resend_unknown(self, name: str, resend: bool) -> None:
        """After a crash, queue this user's parts whose outcome is unknown again (True: they
        may arrive twice) or leave their messages UNKNOWN (False, the default)."""
        if not self._store.users.update(name, resend_unknown=int(resend)):
            raise NotFound(f"no user {name!r}")

    def resend_unknown(self, name: str) -> bool:
        found = self._store.users.resend_unknown(name)
        if found is None:
            raise NotFound(f"no user {name!r}")
        return found

    def add_credits(self, name: str, delta: int) -> int:
        """The new balance. BadRequest for an unlimited user; InsufficientCredit when taking
        more than the balance."""
        balance = self._store.users.add_credits(name, delta)
        if balance is not None:
            return balance
        if self.credits(name) is None:                # NotFound for an unknown user
            raise BadRequest(f"user {name!r} has unlimited credits; set a balance first")
        raise InsufficientCredit(f"user {name!r} has fewer than {-delta} credits")

    def delete(self, name: str) -> None:
        if not self._store.users.delete(name):
            raise NotFound(f"no user {name!r}")
        self._password_changed(name)

    def check(self, name: str, password: str) -> bool:
        return self._store.users.check(name, password)

    def digest_ha1(self, name: str, realm: str, algorithm: str = "MD5") -> str | None:
        return self._store.users.digest_ha1(name, realm, algorithm)

    def digest_user(self, name: str, realm: str, algorithm: str,
                    perm: str) -> tuple[str, bool] | None:
        """The HA1 (as digest_ha1; None likewise) and whether the user, read with it, holds
        `perm`: one read for a Digest login."""
        found = self._store.users.digest_user(name, realm, algorithm)
        return None if found is None else (found[0], _grants(found[1], perm))

    # --- assignments (what a user sees of the inbox) -------------------------------------------
    def ports(self, name: str) -> list[int]:
        return self._store.users.assigned(name, "port")

    def routes(self, name: str) -> list[int]:
        return self._store.users.assigned(name, "route")

    def set_ports(self, name: str, ports: Iterable[int]) -> None:
        """Replace the ports whose inbound messages `name` sees (and may send USSD on)."""
        if not self._store.users.assign(name, "port", _check_ports(ports)):
            raise NotFound(f"no user {name!r}")

    def set_routes(self, name: str, route_ids: Iterable[int]) -> None:
        """Replace the forwarding routes whose matching inbound messages `name` sees."""
        if not self._store.users.assign(name, "route", self._check_routes(route_ids)):
            raise NotFound(f"no user {name!r}")

    def _check_routes(self, route_ids: Iterable[int]) -> list[int]:
        wanted = list(route_ids)
        known = {route.id for route in self._store.routes.all()}
        for ident in wanted:
            if ident not in known:
                raise BadRequest(f"no route {ident!r} (smsd route list)")
        return wanted

    # --- credits at intake ----------------------------------------------------------------------
    def credit_debit(self, user: str, parts: int) -> int:
        """Credits the intake must take from `user` (0: unknown, admin or unlimited);
        InsufficientCredit now when the balance is already short (the intake re-checks
        atomically)."""
        terms = self._store.users.credit_terms(user)
        if terms is None:
            return 0
        admin, credits = terms
        if admin or credits is None:
            return 0
        if credits < parts:
            raise InsufficientCredit(f"{parts} SMS parts needed, {credits} credits left")
        return parts
