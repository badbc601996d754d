"""`smsd user|contacts|groups|route ...`: administration straight on the state database.

Safe while the daemon runs: SQLite in WAL mode, each command is a few short transactions, and
the daemon re-reads users, credits and routes from the database (a changed password invalidates
its auth cache at the next request). The same validation as the HTTP side applies, because the
commands go through the Service's user and address-book methods (without a scheduler).
"""
from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from typing import Any, Callable

from smsd import config
from smsd.errors import BadRequest, ServiceError
from smsd.model import PERMISSIONS
from smsd.service.access import AccessPolicy
from smsd.service.book import ROUTE_PROTOCOLS, AddressBook, Routes
from smsd.service.smpp import Smpp
from smsd.service.users import Users, parse_perms
from smsd.store.db import Store
from smsd.store.migrate import SchemaError
from smsd.throttle import FailureThrottle

DB_FILE = "smsd.db"                  # the daemon's file name in the state dir
DEFAULT_PERMS = "web,api:*"
DIGEST_HELP = ("also allow HTTP Digest logins (keeps a password equivalent for the realm; "
               "docs/security.md)")


class Admin:
    """The service's users, address book and routes over a bare Store (no ports, no scheduler):
    the same subject objects as `smsd.service.Service`, so the same rules."""

    def __init__(self, store: Store) -> None:
        self.access = AccessPolicy(store)
        self.users = Users(store, FailureThrottle(lambda: 0.0))
        self.book = AddressBook(store)
        self.routes = Routes(store)
        self.smpp = Smpp(store, self.users)


# --- parser ---------------------------------------------------------------------------------------
def add_admin_commands(sub: Any) -> None:
    """Add the administration subcommands to the `smsd` parser's subparsers."""
    user = sub.add_parser("user", help="manage users, permissions and credits")
    _user_parser(user)
    parsers = [user]
    for name in ("contacts", "groups"):
        p = sub.add_parser(name, help=f"import or export the {name} as CSV")
        p.add_argument("action", choices=["import", "export"])
        p.add_argument("file", help='CSV file ("-" for stdin/stdout)')
        config.add_state_options(p)
        parsers.append(p)
    route = sub.add_parser("route", help="forward received SMS to URLs")
    _route_parser(route)
    for p in (*parsers, route):
        p.set_defaults(handler=run_admin)


def _user_parser(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--password", help="default: prompt on a terminal, else a random one")
    add.add_argument("--perm", default=DEFAULT_PERMS,
                     help=f"comma list of {', '.join(PERMISSIONS)}; api:* = every API "
                          f"(default {DEFAULT_PERMS})")
    add.add_argument("--admin", action="store_true", help="all permissions, never debited")
    add.add_argument("--credits", type=int, help="SMS part balance (default unlimited)")
    add.add_argument("--digest", action="store_true", help=DIGEST_HELP)
    passwd = sub.add_parser("passwd", help="change a password")
    passwd.add_argument("name")
    passwd.add_argument("--password")
    on_off = passwd.add_mutually_exclusive_group()
    on_off.add_argument("--digest", dest="digest", action="store_true", default=None,
                        help=DIGEST_HELP + " (default: as it was)")
    on_off.add_argument("--no-digest", dest="digest", action="store_false",
                        help="drop the user's HTTP Digest secrets: Basic only")
    digest = sub.add_parser("digest", help="HTTP Digest on (asks for the current password) "
                                           "or off, for one user")
    digest.add_argument("name")
    digest.add_argument("state", choices=["on", "off"])
    digest.add_argument("--password", help="the user's current password (for on; default: "
                                           "prompt on a terminal)")
    perm = sub.add_parser("perm", help="replace a user's permissions")
    perm.add_argument("name")
    perm.add_argument("perms", help="comma list; api:* = every API; empty string = none")
    credits = sub.add_parser("credits", help="N sets, +N adds, -N takes, unlimited")
    credits.add_argument("name")
    credits.add_argument("amount")
    delete = sub.add_parser("del", help="delete a user")
    delete.add_argument("name")
    listing = sub.add_parser("list", help="list users")
    disable = sub.add_parser("disable", help="refuse a user everywhere, keeping its settings")
    disable.add_argument("name")
    enable = sub.add_parser("enable", help="let a disabled user in again")
    enable.add_argument("name")
    assign = sub.add_parser("assign", help="the ports and routes whose received SMS a user "
                                           "sees (without options: show them)")
    assign.add_argument("name")
    assign.add_argument("--ports", help='comma list of port numbers; "" = none')
    assign.add_argument("--routes", help='comma list of route ids (smsd route list); "" = none')
    config.add_state_options(assign)
    smpp = sub.add_parser("smpp-password", help="make a new SMPP bind password (8 characters, "
                                                 "shown once) for a user whose password is longer")
    smpp.add_argument("name")
    resend = sub.add_parser("resend-unknown", help="after a crash, resend (yes) or not (no, the "
                                                   "default) this user's parts whose outcome is "
                                                   "unknown (docs/durability.md)")
    resend.add_argument("name")
    resend.add_argument("policy", choices=["yes", "no"])
    for q in (add, passwd, digest, perm, credits, delete, listing, disable, enable, smpp, resend):
        config.add_state_options(q)


def _route_parser(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="forward matching received SMS to URL")
    add.add_argument("url")
    add.add_argument("--protocol", default="isms", choices=list(ROUTE_PROTOCOLS))
    add.add_argument("--port", type=int, help="only SMS received on this port")
    add.add_argument("--sender-prefix", default="", help="only senders starting with this")
    add.add_argument("--text-prefix", default="", help="only texts starting with this")
    delete = sub.add_parser("del", help="delete a route")
    delete.add_argument("id", type=int)
    listing = sub.add_parser("list", help="list routes")
    for q in (add, delete, listing):
        config.add_state_options(q)


# --- dispatch -------------------------------------------------------------------------------------
def run_admin(args: argparse.Namespace, start: config.Startup) -> int:
    """Run a parsed administration command; the process exit status."""
    path = os.path.join(start.state_dir, DB_FILE)
    start.announce()
    if start.defaulted and not os.path.exists(path):
        # A fresh database only where somebody asked for one: a command meant for `make run`'s
        # ./state must not quietly create users in another, empty database.
        print(f"smsd: no database {path}: give --state-dir DIR, the daemon's state dir",
              file=sys.stderr)
        return 1
    os.makedirs(start.state_dir, mode=0o750, exist_ok=True)
    try:
        store = Store(path, group_commit=False)
    except SchemaError as exc:      # too new, or a migration failed: one line, file untouched
        print(f"smsd: {exc}", file=sys.stderr)
        return 1
    try:
        handler = HANDLERS[(args.command, args.action)]
        handler(Admin(store), args)
    except ServiceError as exc:
        print(f"smsd: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"smsd: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def _password(given: str | None) -> str:
    if given is not None:
        return given
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise BadRequest("the passwords differ")
        return first
    made = secrets.token_urlsafe(12)
    print(f"password: {made}")
    return made


def _user_add(admin: Admin, args: argparse.Namespace) -> None:
    perms = parse_perms(args.perm)
    admin.users.add(args.name, _password(args.password), perms=perms, admin=args.admin,
                    credits=args.credits, digest=args.digest)


def _user_passwd(admin: Admin, args: argparse.Namespace) -> None:
    admin.users.get(args.name)                       # NotFound before asking for a password
    admin.users.passwd(args.name, _password(args.password), digest=args.digest)


def _user_digest(admin: Admin, args: argparse.Namespace) -> None:
    admin.users.get(args.name)                       # NotFound before asking for a password
    if args.state == "off":
        admin.users.set_digest(args.name, None)
        return
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            raise BadRequest("digest on needs the user's current password: --password PW")
        password = getpass.getpass(f"Current password of {args.name}: ")
    admin.users.set_digest(args.name, password)


def _user_perm(admin: Admin, args: argparse.Namespace) -> None:
    admin.users.set_perms(args.name, parse_perms(args.perms))


def _user_credits(admin: Admin, args: argparse.Namespace) -> None:
    amount = args.amount.strip().lower()
    if amount == "unlimited":
        admin.users.set_credits(args.name, None)
    elif amount[:1] in "+-" and amount[1:].isdigit():
        print(admin.users.add_credits(args.name, int(amount)))
    elif amount.isdigit():
        admin.users.set_credits(args.name, int(amount))
    else:
        raise BadRequest("credits: N, +N, -N or unlimited")


def _user_list(admin: Admin, args: argparse.Namespace) -> None:
    print(f"{'NAME':<20} {'ADMIN':<5} {'CREDITS':>10}  {'DIGEST':<11} PERMISSIONS")
    for u in admin.users.all():
        credits = "unlimited" if u.credits is None else str(u.credits)
        perms = "all" if u.admin else ",".join(p for p in PERMISSIONS if p in u.perms) or "-"
        digest = ",".join(admin.users.digest_algorithms(u.name)) or "off"
        perms += " (disabled)" if u.disabled else ""
        print(f"{u.name:<20} {'yes' if u.admin else 'no':<5} {credits:>10}  {digest:<11} {perms}")


def _user_assign(admin: Admin, args: argparse.Namespace) -> None:
    admin.users.get(args.name)                       # NotFound for an unknown user, also to show
    if args.ports is not None:
        admin.users.set_ports(args.name, _numbers(args.ports, "--ports"))
    if args.routes is not None:
        admin.users.set_routes(args.name, _numbers(args.routes, "--routes"))
    ports = ",".join(map(str, admin.users.ports(args.name))) or "-"
    routes = ",".join(map(str, admin.users.routes(args.name))) or "-"
    print(f"{args.name}: ports {ports}; routes {routes}")


def _numbers(text: str, option: str) -> list[int]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not all(item.isascii() and item.isdigit() and len(item) <= 9 for item in items):
        raise BadRequest(f"{option}: a comma list of numbers, e.g. 0,3")
    return [int(item) for item in items]


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8-sig", newline="") as f:
        return f.read()


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def _contacts(admin: Admin, args: argparse.Namespace) -> None:
    if args.action == "import":
        print(f"{admin.book.contacts_import_csv(_read(args.file))} contacts imported")
    else:
        _write(args.file, admin.book.contacts_export_csv())


def _groups(admin: Admin, args: argparse.Namespace) -> None:
    if args.action == "import":
        print(f"{admin.book.groups_import_csv(_read(args.file))} groups imported")
    else:
        _write(args.file, admin.book.groups_export_csv())


def _route_add(admin: Admin, args: argparse.Namespace) -> None:
    print(admin.routes.add(args.url, args.protocol, port=args.port,
                           sender_prefix=args.sender_prefix, text_prefix=args.text_prefix))


def _route_list(admin: Admin, args: argparse.Namespace) -> None:
    print(f"{'ID':>4}  {'PROTOCOL':<8} {'PORT':>4}  {'SENDER':<10} {'TEXT':<10} URL")
    for r in admin.routes.all():
        port = "any" if r.port is None else str(r.port)
        print(f"{r.id:>4}  {r.protocol:<8} {port:>4}  {r.sender_prefix or '*':<10} "
              f"{r.text_prefix or '*':<10} {r.url}")


HANDLERS: dict[tuple[str, str], Callable[[Admin, argparse.Namespace], None]] = {
    ("user", "add"): _user_add,
    ("user", "passwd"): _user_passwd,
    ("user", "digest"): _user_digest,
    ("user", "perm"): _user_perm,
    ("user", "assign"): _user_assign,
    ("user", "credits"): _user_credits,
    ("user", "resend-unknown"): lambda admin, args: admin.users.set_resend_unknown(
        args.name, args.policy == "yes"),
    ("user", "del"): lambda admin, args: admin.users.delete(args.name),
    ("user", "list"): _user_list,
    ("user", "disable"): lambda admin, args: admin.users.set_disabled(args.name, True),
    ("user", "enable"): lambda admin, args: admin.users.set_disabled(args.name, False),
    ("user", "smpp-password"): lambda admin, args: print(
        f"SMPP password for {args.name}: {admin.smpp.new_password(args.name)} (shown only now)"),
    ("contacts", "import"): _contacts,
    ("contacts", "export"): _contacts,
    ("groups", "import"): _groups,
    ("groups", "export"): _groups,
    ("route", "add"): _route_add,
    ("route", "del"): lambda admin, args: admin.routes.delete(args.id),
    ("route", "list"): _route_list,
}
