"""`smsd drp-server ...`: run the relay, or manage its accounts and devices.

    smsd drp-server --listen HOST:PORT --device-listen HOST:PORT --state-dir DIR
    smsd drp-server user add NAME [--password PW]      (else asked, or read from stdin)
    smsd drp-server device add SN --owner NAME         (prints the device's secret, once)
    smsd drp-server user|device remove NAME|SN
    smsd drp-server list | fingerprint

Settings come from the `[drp-server]` section of --config, overridden by the options.
"""
from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from typing import Any

from smsd.drp import settings as drp_settings
from smsd.drp.settings import RelaySettings
from smsd.errors import ConfigError

LOG_LEVELS = ("debug", "info", "warning", "error")


def add_drp_command(sub: Any) -> None:
    parser = sub.add_parser("drp-server", help="run the remote-access relay (DRP) or manage "
                                               "its accounts and devices")
    parser.set_defaults(handler=_handle, drp_action="run")
    _common(parser, None)
    parser.add_argument("--listen", metavar="HOST:PORT", help="HTTPS port for API clients")
    parser.add_argument("--device-listen", metavar="HOST:PORT", help="port the boxes dial")
    parser.add_argument("--log-level", choices=LOG_LEVELS)
    parser.add_argument("--session-rate", type=float, metavar="N",
                        help="requests per second per client session")
    parser.add_argument("--device-rate", type=float, metavar="N",
                        help="requests per second per device")
    parser.add_argument("--max-body", type=int, metavar="BYTES", help="request body limit")
    actions = parser.add_subparsers(dest="drp_what")
    for what in ("user", "device"):
        p = actions.add_parser(what, help=f"add or remove a{'n account' if what == 'user' else ' device'}")
        verbs = p.add_subparsers(dest="drp_verb", required=True)
        add = verbs.add_parser("add")
        add.add_argument("name", metavar="NAME" if what == "user" else "SN")
        if what == "user":
            add.add_argument("--password", metavar="PW", help="else asked (or one stdin line)")
        else:
            add.add_argument("--owner", required=True, metavar="NAME")
        remove = verbs.add_parser("remove")
        remove.add_argument("name", metavar="NAME" if what == "user" else "SN")
        for q in (add, remove):
            _common(q, argparse.SUPPRESS)
    for name in ("list", "fingerprint"):
        _common(actions.add_parser(name, help="list accounts and devices" if name == "list"
                                   else "print the SHA-256 of the relay's certificate"),
                argparse.SUPPRESS)


def _common(parser: argparse.ArgumentParser, default: Any) -> None:
    # `drp_` names: main() reads the daemon's --config/--state-dir, which these are not.
    parser.add_argument("--config", dest="drp_config", metavar="FILE", default=default,
                        help="INI file with a [drp-server] section")
    parser.add_argument("--state-dir", dest="drp_state_dir", metavar="DIR", default=default,
                        help=f"accounts, devices, certificate (default "
                             f"{drp_settings.DEFAULT_RELAY_STATE_DIR})")


def settings_of(args: argparse.Namespace) -> RelaySettings:
    values = drp_settings.read_relay(args.drp_config) if getattr(args, "drp_config", None) else {}
    for key in ("listen", "device_listen", "log_level", "session_rate", "device_rate",
                "max_body"):
        if getattr(args, key, None) is not None:
            values[key] = getattr(args, key)
    if getattr(args, "drp_state_dir", None):
        values["state_dir"] = args.drp_state_dir
    from smsd.config import parse_listen
    for key in ("listen", "device_listen"):
        if key in values:
            values[key] = parse_listen(values[key])
    result = dataclasses.replace(RelaySettings(), **values)
    if result.listen == result.device_listen:
        raise ConfigError("--listen and --device-listen must differ")
    return result


def _handle(args: argparse.Namespace, _start: Any) -> int:
    settings = settings_of(args)
    what = getattr(args, "drp_what", None)
    if what is None:
        from smsd.system import logsetup
        logsetup.configure(settings.log_level)   # journald priorities, no secrets (docs/logs.md)
        from smsd.drp.relay import run
        return run(settings)
    if what == "fingerprint":
        from smsd.drp.relay import contexts
        print(contexts(settings)[2])
        return 0
    from smsd.drp.relay_state import RelayState
    state = RelayState(settings.state_dir)
    if what == "list":
        for name in sorted(state.accounts):
            print(f"account {name}")
        for device in sorted(state.devices.values(), key=lambda d: d.sn):
            print(f"device {device.sn} owner {device.owner}")
        return 0
    if args.drp_verb == "remove":
        removed = (state.remove_account(args.name) if what == "user"
                   else state.remove_device(args.name))
        if not removed:
            print(f"smsd: no {what} {args.name!r}", file=sys.stderr)
            return 1
        return 0
    if what == "user":
        state.add_account(args.name, _password(args))
        print(f"account {args.name} saved", file=sys.stderr)
        return 0
    secret = state.add_device(args.name, args.owner)
    print(f"device {args.name} added for account {args.owner}; its secret (shown only now, "
          "for [remote] secret = on the box):", file=sys.stderr)
    print(secret)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ConfigError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")
