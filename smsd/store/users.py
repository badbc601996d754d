"""Users: salted slow password hashes, Digest HA1, and a cache of recent successful checks.

The slow hash (scrypt) costs tens of milliseconds on purpose; HTTP Basic auth sends the password
with every request, so a successful check is remembered as a fast keyed digest (HMAC-SHA256 with
a per-process random key) and later requests with the same password skip scrypt. The cache lives
in memory only and is dropped for a user whose password changes.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from smsd.store.sqlite import Database

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
KDF = f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}"
DIGEST_REALM = "smsd"


def slow_hash(password: str, salt: bytes, kdf: str = KDF) -> bytes:
    _, n, r, p = kdf.split(":")
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                          maxmem=64 * 1024 * 1024, dklen=32)


def digest_ha1(name: str, realm: str, password: str) -> str:
    return hashlib.md5(f"{name}:{realm}:{password}".encode("utf-8")).hexdigest()


class UsersMixin:
    db: Database
    _auth_cache: dict[str, bytes]
    _auth_key: bytes
    _auth_lock: threading.Lock

    def _init_users(self) -> None:
        self._auth_cache = {}
        self._auth_key = secrets.token_bytes(32)
        self._auth_lock = threading.Lock()

    def user_create(self, name: str, password: str, admin: bool = False,
                    realm: str = DIGEST_REALM) -> None:
        """Create a user or replace its password (and admin flag)."""
        salt = secrets.token_bytes(16)
        row = (name, KDF, salt, slow_hash(password, salt), realm, digest_ha1(name, realm, password),
               int(admin), time.time())
        with self.db.write() as conn:
            conn.execute("INSERT INTO users(name, kdf, salt, hash, realm, ha1, admin, created) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                         "kdf = excluded.kdf, salt = excluded.salt, hash = excluded.hash, "
                         "realm = excluded.realm, ha1 = excluded.ha1, admin = excluded.admin", row)
        self._forget(name)

    def user_delete(self, name: str) -> bool:
        with self.db.write() as conn:
            gone = conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 1
        self._forget(name)
        return gone

    def user_exists(self, name: str) -> bool:
        return self.db.conn().execute("SELECT 1 FROM users WHERE name = ?",
                                      (name,)).fetchone() is not None

    def user_is_admin(self, name: str) -> bool:
        row = self.db.conn().execute("SELECT admin FROM users WHERE name = ?", (name,)).fetchone()
        return bool(row and row[0])

    def user_names(self) -> list[str]:
        return [r[0] for r in self.db.conn().execute("SELECT name FROM users ORDER BY name")]

    def user_check(self, name: str, password: str) -> bool:
        token = hmac.new(self._auth_key, f"{name}\0{password}".encode("utf-8"),
                         hashlib.sha256).digest()
        with self._auth_lock:
            cached = self._auth_cache.get(name)
        if cached is not None and hmac.compare_digest(cached, token):
            return True
        row = self.db.conn().execute("SELECT kdf, salt, hash FROM users WHERE name = ?",
                                     (name,)).fetchone()
        if row is None or not hmac.compare_digest(slow_hash(password, row[1], row[0]), row[2]):
            return False
        with self._auth_lock:
            self._auth_cache[name] = token
        return True

    def user_digest_ha1(self, name: str, realm: str) -> str | None:
        """HA1 for HTTP Digest; None for an unknown user or a realm other than the stored one."""
        row = self.db.conn().execute("SELECT realm, ha1 FROM users WHERE name = ?",
                                     (name,)).fetchone()
        return None if row is None or row[0] != realm else str(row[1])

    def _forget(self, name: str) -> None:
        with self._auth_lock:
            self._auth_cache.pop(name, None)
