"""Users: salted slow password hashes, opt-in Digest HA1s, permissions, credits, an auth cache.

The slow hash (scrypt) costs tens of milliseconds on purpose; HTTP Basic auth sends the password
with every request, so a successful login is remembered: a fast keyed digest of the secret
(keyed BLAKE2b under a per-process random key, never the secret itself), the user as it was read,
and the auth version it was read under (migration 0015: a value triggers change with every change
of what a login reads, whichever process makes it; the `smsd user` command writes this file while
the daemon runs). A remembered login costs one tiny SELECT of that version, a dict look-up and a
constant-time compare; once the version moved (any user changed) the row is read again, and scrypt
runs again only when the stored hash itself is not the one the secret was checked against.

The gateway.php dialect may send the SHA-1 hex of the password instead of the password. We never
store that SHA-1 (it would be a password equivalent kept fast to attack); we store a second slow
hash of it, made at password-set time.

HTTP Digest needs HA1 = H(name:realm:password) as it is: the protocol cannot work from a salted
slow hash, so an HA1 is a password equivalent for the realm (and a fast hash to brute-force for
the password). It is therefore kept only for users who opt in (`digest=True` when the password is
set): SHA-256 (RFC 7616) and MD5 (the clients that know nothing else), both NULL otherwise.
Users without Digest authenticate with Basic, checked against the scrypt hash.

Credits: NULL = unlimited, else a balance debited per SMS part by `debit()` inside the intake
transaction, guarded by `credits >= parts` so that concurrent requests never take it below zero.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from typing import Any, Callable, Iterable, NamedTuple

from smsd.errors import InsufficientCredit
from smsd.model import DEFAULT_PERMISSIONS, PERMISSIONS, UserInfo
from smsd.store.sqlite import Database

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
KDF = f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}"
DIGEST_REALM = "smsd"
AUTH_CACHE_MAX = 4096
_DUMMY_SALT = bytes(16)
USER_COLUMNS = "name, admin, perms, credits, disabled"
Gate = Callable[[], None] | None


# One scrypt at a time in the whole process: each takes 16 MiB (128 * r * n bytes) for ~50 ms.
# 100 users' first logins at once would otherwise hash on every HTTP thread together, 16 of them
# (a peak of 260 MB on a box of 100 MB); one at a time the peak grows by 16 MiB whatever the
# crowd, and the other core is left to intake and dispatch (bench/memory.py, docs/benchmarks.md).
SLOW_HASHES_AT_ONCE = 1
_slow_gate = threading.BoundedSemaphore(SLOW_HASHES_AT_ONCE)


def slow_hash(password: str, salt: bytes, kdf: str = KDF) -> bytes:
    _, n, r, p = kdf.split(":")
    with _slow_gate:
        return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                              maxmem=64 * 1024 * 1024, dklen=32)


# Digest algorithm (as RFC 7616 names it) -> the column that keeps its HA1.
DIGEST_COLUMNS = {"SHA-256": "ha1_sha256", "MD5": "ha1"}


def digest_ha1(name: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    text = f"{name}:{realm}:{password}".encode("utf-8")
    return (hashlib.sha256 if algorithm == "SHA-256" else hashlib.md5)(text).hexdigest()


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8")).hexdigest()


def perms_text(perms: Iterable[str]) -> str:
    return ",".join(p for p in PERMISSIONS if p in set(perms))


def user_from_row(r: Any) -> UserInfo:
    perms = frozenset(p for p in str(r[2]).split(",") if p)
    return UserInfo(name=r[0], admin=bool(r[1]), perms=perms, credits=r[3], disabled=bool(r[4]))


def debit(conn: sqlite3.Connection, name: str, parts: int) -> None:
    """Take `parts` credits from `name` inside the caller's transaction, or raise."""
    if conn.execute("UPDATE users SET credits = credits - ? WHERE name = ? AND admin = 0 "
                    "AND credits >= ?", (parts, name, parts)).rowcount == 1:
        return
    row = conn.execute("SELECT credits, admin FROM users WHERE name = ?", (name,)).fetchone()
    if row is None or row[0] is None or row[1]:
        return          # gone, made unlimited or admin since the caller looked: nothing to take
    raise InsufficientCredit(f"{parts} SMS parts needed, {row[0]} credits left")


def _password_row(name: str, password: str, realm: str, digest: bool) -> dict[str, Any]:
    salt, sha_salt = secrets.token_bytes(16), secrets.token_bytes(16)
    return {"kdf": KDF, "salt": salt, "hash": slow_hash(password, salt), "realm": realm,
            **_digest_row(name, password, realm, digest), "sha_salt": sha_salt,
            "sha_hash": slow_hash(sha1_hex(password), sha_salt)}


def _digest_row(name: str, password: str, realm: str, digest: bool) -> dict[str, str | None]:
    """The HA1 columns: every algorithm's HA1 when Digest is on, all NULL when it is off."""
    return {column: digest_ha1(name, realm, password, algorithm) if digest else None
            for algorithm, column in DIGEST_COLUMNS.items()}


_VERSION = "SELECT v FROM auth_version"


class _SecretKind(NamedTuple):
    name: str          # "" for the password, "sha1" for its SHA-1 hex
    select: str        # the auth version, kdf, salt, hash, then USER_COLUMNS of one user


def _secret_kind(name: str, salt: str, hash_: str) -> _SecretKind:
    return _SecretKind(name, f"SELECT ({_VERSION}), kdf, {salt}, {hash_}, {USER_COLUMNS} "
                             "FROM users WHERE name = ?")


_PASSWORD = _secret_kind("", "salt", "hash")
_SHA1 = _secret_kind("sha1", "sha_salt", "sha_hash")


class _Login(NamedTuple):
    """A login remembered: valid while the auth version is still `version`."""
    version: int
    token: bytes                        # keyed digest of the secret that was checked
    stored: tuple[str, bytes, bytes]    # the kdf, salt and hash it was checked against
    info: UserInfo                      # the user as read with them


class _DigestRow(NamedTuple):
    """A user's Digest columns remembered: valid while the auth version is still `version`."""
    version: int | None                 # None: a database without its version row
    realm: str
    ha1: str | None                     # of one algorithm
    info: UserInfo


class Users:
    """User accounts: passwords, Digest HA1s, permissions, credits, port assignments."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._logins: dict[tuple[str, str], _Login] = {}     # (kind, name) -> remembered
        self._digests: dict[tuple[str, str], _DigestRow] = {}   # (algorithm, name) -> its row
        self._auth_key = secrets.token_bytes(32)
        self._auth_lock = threading.Lock()

    # --- create, change, delete -----------------------------------------------------------------
    def create(self, name: str, password: str, admin: bool = False,
                    realm: str = DIGEST_REALM, *, perms: Iterable[str] = DEFAULT_PERMISSIONS,
                    credits: int | None = None, digest: bool = False) -> None:
        """Create a user or replace its password, admin flag, permissions, credits and Digest."""
        row = {"name": name, **_password_row(name, password, realm, digest), "admin": int(admin),
               "perms": perms_text(perms), "credits": credits, "created": time.time()}
        cols = ", ".join(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in row if c not in ("name", "created"))
        with self.db.write() as conn:
            conn.execute(f"INSERT INTO users({cols}) VALUES ({', '.join('?' * len(row))}) "
                         f"ON CONFLICT(name) DO UPDATE SET {updates}", tuple(row.values()))

    def add(self, name: str, password: str, *, perms: Iterable[str] = DEFAULT_PERMISSIONS,
                 admin: bool = False, credits: int | None = None, digest: bool = False) -> bool:
        """Create a new user; False (and nothing changed) when the name is taken."""
        row = {"name": name, **_password_row(name, password, DIGEST_REALM, digest),
               "admin": int(admin),
               "perms": perms_text(perms), "credits": credits, "created": time.time()}
        with self.db.write() as conn:
            cur = conn.execute(f"INSERT OR IGNORE INTO users({', '.join(row)}) "
                               f"VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        return cur.rowcount == 1

    def set_password(self, name: str, password: str, *, digest: bool | None = None) -> bool:
        """New password; `digest` turns Digest on or off with it (None: as it was)."""
        with self.db.write() as conn:
            old = conn.execute("SELECT realm, ha1 IS NOT NULL OR ha1_sha256 IS NOT NULL "
                               "FROM users WHERE name = ?", (name,)).fetchone()
            if old is None:
                return False
            row = _password_row(name, password, old[0], bool(old[1]) if digest is None else digest)
            conn.execute(f"UPDATE users SET {', '.join(c + ' = ?' for c in row)} WHERE name = ?",
                         (*row.values(), name))
        return True

    def set_digest(self, name: str, password: str | None) -> bool:
        """Digest on (HA1s made from `password`, which the caller has checked) or off (None:
        the HA1s are dropped). False when there is no such user."""
        with self.db.write() as conn:
            realm = conn.execute("SELECT realm FROM users WHERE name = ?", (name,)).fetchone()
            if realm is None:
                return False
            row = _digest_row(name, password or "", realm[0], password is not None)
            conn.execute(f"UPDATE users SET {', '.join(c + ' = ?' for c in row)} WHERE name = ?",
                         (*row.values(), name))
        return True

    def update(self, name: str, **values: Any) -> bool:
        """Set `perms` (an iterable), `admin`, `credits` (None = unlimited), `disabled` or
        `resend_unknown` (migration 0014)."""
        unknown = set(values) - {"perms", "admin", "credits", "disabled", "resend_unknown"}
        if unknown or not values:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "perms" in values:
            values["perms"] = perms_text(values["perms"])
        sets = ", ".join(f"{c} = ?" for c in values)
        with self.db.write() as conn:
            return conn.execute(f"UPDATE users SET {sets} WHERE name = ?",
                                (*values.values(), name)).rowcount == 1

    def resend_unknown(self, name: str) -> bool | None:
        """The user's policy for parts whose outcome is unknown; None for no such user."""
        row = self.db.conn().execute("SELECT resend_unknown FROM users WHERE name = ?",
                                     (name,)).fetchone()
        return None if row is None else bool(row[0])

    def add_credits(self, name: str, delta: int) -> int | None:
        """Add (or take, never below zero) credits; the new balance, None when not applicable
        (no such user, unlimited, or the balance is too small to take `-delta`)."""
        with self.db.write() as conn:
            row = conn.execute("UPDATE users SET credits = credits + ? WHERE name = ? AND "
                               "credits + ? >= 0 RETURNING credits",
                               (delta, name, delta)).fetchone()
        return None if row is None else int(row[0])

    def delete(self, name: str) -> bool:
        with self.db.write() as conn:
            gone = conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 1
            # A user made again under the same name starts with nothing assigned.
            conn.execute("DELETE FROM user_inbound WHERE user = ?", (name,))
        return gone

    # --- reading --------------------------------------------------------------------------------
    def exists(self, name: str) -> bool:
        return self.db.conn().execute("SELECT 1 FROM users WHERE name = ?",
                                      (name,)).fetchone() is not None

    def is_admin(self, name: str) -> bool:
        row = self.db.conn().execute("SELECT admin FROM users WHERE name = ?", (name,)).fetchone()
        return bool(row and row[0])

    def names(self) -> list[str]:
        return [r[0] for r in self.db.conn().execute("SELECT name FROM users ORDER BY name")]

    def info(self, name: str) -> UserInfo | None:
        row = self.db.conn().execute(f"SELECT {USER_COLUMNS} FROM users WHERE name = ?",
                                     (name,)).fetchone()
        return None if row is None else user_from_row(row)

    def credit_terms(self, name: str) -> tuple[bool, int | None] | None:
        """(admin, credits) of `name`, None for no such user: what every send's credit check
        reads, without the permissions parsed into a whole UserInfo."""
        row = self.db.conn().execute("SELECT admin, credits FROM users WHERE name = ?",
                                     (name,)).fetchone()
        return None if row is None else (bool(row[0]), row[1])

    def all(self) -> list[UserInfo]:
        return [user_from_row(r) for r in
                self.db.conn().execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY name")]

    # --- inbound assignments --------------------------------------------------------------------
    def assign(self, name: str, kind: str, refs: Iterable[int]) -> bool:
        """Replace the ports (`kind` "port") or routes ("route") assigned to `name`; False when
        there is no such user."""
        wanted = sorted(set(refs))
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
                return False
            conn.execute("DELETE FROM user_inbound WHERE user = ? AND kind = ?", (name, kind))
            conn.executemany("INSERT INTO user_inbound(user, kind, ref) VALUES (?, ?, ?)",
                             [(name, kind, ref) for ref in wanted])
        return True

    def assigned(self, name: str, kind: str) -> list[int]:
        return [int(r[0]) for r in self.db.conn().execute(
            "SELECT ref FROM user_inbound WHERE user = ? AND kind = ? ORDER BY ref", (name, kind))]

    # --- checking -------------------------------------------------------------------------------
    def check(self, name: str, password: str, *, before_slow: Gate = None) -> bool:
        """`before_slow` runs just before the slow hash (not on a remembered success): the login
        throttle reserves its slot there, and an exception from it aborts the check."""
        return self.login(name, password, before_slow=before_slow) is not None

    def login(self, name: str, password: str, *, before_slow: Gate = None) -> UserInfo | None:
        """The user when `password` is theirs, else None: name, admin, permissions and disabled
        as the database has them now; credits as they were when the login was remembered (they
        move with every send and leave the auth version alone; credit_terms reads them)."""
        return self._login(name, password, _PASSWORD, before_slow)

    def login_sha1(self, name: str, hexdigest: str, *,
                   before_slow: Gate = None) -> UserInfo | None:
        """As login(), with the SHA-1 hex of the password (gateway.php clients may send that)."""
        return self._login(name, hexdigest.lower(), _SHA1, before_slow)

    def _login(self, name: str, secret: str, kind: _SecretKind,
               before_slow: Gate) -> UserInfo | None:
        conn = self.db.conn()
        # BLAKE2b keyed is a MAC by design (no HMAC construction needed): 0.5 us, HMAC-SHA256 1.3.
        token = hashlib.blake2b(f"{kind.name}\0{name}\0{secret}".encode("utf-8"),
                                key=self._auth_key, digest_size=32).digest()
        # A plain dict read is atomic; the entry is an immutable tuple replaced whole.
        known = self._logins.get((kind.name, name))
        if known is not None and hmac.compare_digest(known.token, token) \
                and conn.execute(_VERSION).fetchone() == (known.version,):
            # This secret was checked under this version: nothing a login reads has changed
            # since, in this process or another, so the user is still as `known.info` says.
            return known.info
        return self._login_from_row(conn, name, secret, kind, token, known, before_slow)

    def _login_from_row(self, conn: sqlite3.Connection, name: str, secret: str,
                        kind: _SecretKind, token: bytes, known: _Login | None,
                        before_slow: Gate) -> UserInfo | None:
        """Read the row and its version in one statement (one snapshot), then the slow hash
        unless this very secret was checked against this very stored hash before."""
        row = conn.execute(kind.select, (name,)).fetchone()
        # A NUL never belongs to a password (smsd.service.users refuses it): the slow hash keys
        # HMAC with the secret, which pads it with NULs, so "pw\0" would pass for "pw".
        if row is None or row[2] is None or row[3] is None or "\0" in secret:
            if before_slow is not None:
                before_slow()
            slow_hash(secret, _DUMMY_SALT)    # as slow as a wrong password: names stay secret
            return None
        version, stored = row[0], (row[1], row[2], row[3])
        if known is None or known.stored != stored or not hmac.compare_digest(known.token, token):
            if before_slow is not None:
                before_slow()
            if not hmac.compare_digest(slow_hash(secret, row[2], row[1]), row[3]):
                return None
        info = user_from_row(row[4:])
        if version is not None:       # a database without its version row is never trusted
            self._remember((kind.name, name), _Login(version, token, stored, info))
        return info

    def _remember(self, key: tuple[str, str], login: _Login) -> None:
        with self._auth_lock:
            if len(self._logins) >= AUTH_CACHE_MAX and key not in self._logins:
                self._logins.clear()          # rare; a later request just pays scrypt again
            self._logins[key] = login

    def digest_ha1(self, name: str, realm: str, algorithm: str = "MD5") -> str | None:
        """HA1 for HTTP Digest with `algorithm` ("SHA-256" or "MD5"); None for an unknown user,
        a user without Digest (or without that algorithm's HA1), another realm or algorithm."""
        found = self.digest_user(name, realm, algorithm)
        return None if found is None else found[0]

    def digest_user(self, name: str, realm: str,
                    algorithm: str = "MD5") -> tuple[str, UserInfo] | None:
        """The HA1 (as digest_ha1) with the user as read in the same statement: a Digest login
        reads one row, not one for the HA1 and another for the permissions; and while the auth
        version is the one it was read under, not even that (credits, as in login(), are as
        they were then)."""
        column = DIGEST_COLUMNS.get(algorithm)
        if column is None:
            return None
        conn = self.db.conn()
        # As login(): the row read under this auth version is still the row (one tiny SELECT
        # instead of the user's row and its permissions parsed again, per Digest request)
        known = self._digests.get((algorithm, name))
        if known is None or conn.execute(_VERSION).fetchone() != (known.version,):
            row = conn.execute(f"SELECT ({_VERSION}), realm, {column}, {USER_COLUMNS} "
                               "FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            known = _DigestRow(row[0], row[1], row[2], user_from_row(row[3:]))
            if known.version is not None:     # a database without its version row: no memory
                self._remember_digest((algorithm, name), known)
        if known.realm != realm or known.ha1 is None:
            return None
        return str(known.ha1), known.info

    def _remember_digest(self, key: tuple[str, str], row: _DigestRow) -> None:
        with self._auth_lock:
            if len(self._digests) >= AUTH_CACHE_MAX and key not in self._digests:
                self._digests.clear()
            self._digests[key] = row

    def digest_algorithms(self, name: str) -> list[str]:
        """The Digest algorithms `name` can log in with, best first ([] when Digest is off)."""
        row = self.db.conn().execute(f"SELECT {', '.join(DIGEST_COLUMNS.values())} FROM users "
                                     "WHERE name = ?", (name,)).fetchone()
        return [] if row is None else [a for a, ha1 in zip(DIGEST_COLUMNS, row) if ha1 is not None]


def inbound_visible_term(table: str, viewer: str | None) -> tuple[str, list[Any]]:
    """A WHERE term (and its arguments) for the rows of inbound table alias `table` that
    `viewer` may see: those of the ports assigned to them, and those a route assigned to them
    matches (its port, sender and text prefixes, as smsd.service_book.route_matches reads them).
    None: everything (an admin, or the box itself)."""
    if viewer is None:
        return "1", []
    t = table
    term = (f"({t}.port IN (SELECT ref FROM user_inbound WHERE user = ? AND kind = 'port') "
            "OR EXISTS (SELECT 1 FROM user_inbound a JOIN routes r ON r.id = a.ref "
            "WHERE a.user = ? AND a.kind = 'route' "
            f"AND (r.port IS NULL OR r.port = {t}.port) "
            f"AND substr({t}.number, 1, length(r.sender_prefix)) = r.sender_prefix "
            f"AND substr({t}.text, 1, length(r.text_prefix)) = r.text_prefix))")
    return term, [viewer, viewer]


def owned_term(task_column: str, owner: str | None) -> tuple[str, list[Any]]:
    """A WHERE term for rows whose task (id in `task_column`) `owner` created; None: all."""
    if owner is None:
        return "1", []
    return f"{task_column} IN (SELECT id FROM tasks WHERE user = ?)", [owner]
