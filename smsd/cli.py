"""`smsd` command line: `smsd run ...` starts the daemon; the administration subcommands work on
its database (smsd/admin_cli.py).

Every subcommand gets its handler through `set_defaults(handler=...)` and its --config and
--state-dir from config.add_state_options, which main() resolves once, alike for all of them.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from smsd import __version__, config
from smsd.admin_cli import add_admin_commands
from smsd.backup_cli import add_backup_commands
from smsd.drp.relay_cli import add_drp_command
from smsd.errors import ConfigError
from smsd.update import add_update_command

Handler = Callable[[argparse.Namespace, config.Startup], int]


class Parser(argparse.ArgumentParser):
    """Long options are never abbreviated: `--simulat` is an error, not `--simulate`, so a
    prefix cannot change meaning when an option is added later. Subparsers are made of the
    parent's class, so this holds for every subcommand."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def _parser() -> Parser:
    parser = Parser(prog="smsd", description="SMS gateway daemon")
    parser.add_argument("--version", action="version", version=f"smsd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _run_parser(sub.add_parser("run", help="start the daemon"))
    add_admin_commands(sub)
    add_backup_commands(sub)
    add_update_command(sub)
    add_drp_command(sub)
    return parser


def _run_parser(run: argparse.ArgumentParser) -> None:
    run.set_defaults(handler=_run)
    run.add_argument("--simulate", type=int, metavar="N",
                     help="use the built-in modem-board simulator with N ports (1..32)")
    run.add_argument("--slots", type=int, metavar="S", help="SIM slots per simulated port (1..4)")
    run.add_argument("--sim-latency", type=float, metavar="SECONDS",
                     help="simulated network submit time per SMS part")
    run.add_argument("--sim-journal", metavar="FILE",
                     help="append every SMS the simulated network accepts to FILE (JSON lines)")
    run.add_argument("--listen", action="append", metavar="HOST:PORT",
                     help="HTTP listen address (repeatable)")
    run.add_argument("--tls-listen", action="append", metavar="HOST:PORT",
                     help="HTTPS listen address (repeatable)")
    config.add_state_options(run)
    run.add_argument("--admin-password", metavar="PW",
                     help="password for the admin account created on a fresh state dir")
    run.add_argument("--push-url", action="append", metavar="URL",
                     help="push events to this URL (repeatable)")
    run.add_argument("--board", metavar="FILE",
                     help="board description: serial devices and GPIO lines of the modem ports")
    run.add_argument("--log-level", choices=config.LOG_LEVELS)
    run.add_argument("--drain-timeout", type=float, metavar="SECONDS",
                     help="on SIGTERM, wait this long for the SMS parts on the air (default 80)")


def _overrides(args: argparse.Namespace, start: config.Startup) -> dict[str, Any]:
    return {
        "simulate": args.simulate, "slots": args.slots, "sim_latency": args.sim_latency,
        "sim_journal": args.sim_journal,
        "listen": tuple(config.parse_listen(v) for v in args.listen) if args.listen else None,
        "tls_listen": (tuple(config.parse_listen(v) for v in args.tls_listen)
                       if args.tls_listen else None),
        "state_dir": start.state_dir, "admin_password": args.admin_password,
        "push_urls": tuple(args.push_url) if args.push_url else None,
        "log_level": args.log_level, "board": args.board, "drain_timeout": args.drain_timeout,
    }


def _run(args: argparse.Namespace, start: config.Startup) -> int:
    cfg = config.build(start.file_values, _overrides(args, start))
    start.announce()
    from smsd.system import logsetup
    logsetup.configure(cfg.log_level)     # journald priorities, no secrets (docs/logs.md)
    from smsd.daemon import Daemon
    return Daemon(cfg).run_forever()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    os.umask(0o077)    # databases, backups and exports hold hashes and messages: owner only
    handler: Handler = args.handler
    try:
        # A subcommand without config.add_state_options gets the defaults (and no file).
        start = config.startup(getattr(args, "config", None), getattr(args, "state_dir", None))
        return handler(args, start)
    except ConfigError as exc:
        # Exit status 2: the service does not restart on it (RestartPreventExitStatus=2).
        print(f"smsd: {exc}", file=sys.stderr)
        return 2
