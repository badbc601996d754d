"""`smsd` command line: `smsd run ...` starts the daemon."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from smsd import config
from smsd.admin_cli import COMMANDS as ADMIN_COMMANDS, add_admin_commands, run_admin
from smsd.errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smsd", description="SMS gateway daemon")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the daemon")
    run.add_argument("--simulate", type=int, metavar="N",
                     help="use the built-in modem-board simulator with N ports (1..32)")
    run.add_argument("--slots", type=int, metavar="S", help="SIM slots per simulated port (1..4)")
    run.add_argument("--sim-latency", type=float, metavar="SECONDS",
                     help="simulated network submit time per SMS part")
    run.add_argument("--sim-journal", metavar="FILE",
                     help="append every SMS the simulated network accepts to FILE (JSON lines)")
    run.add_argument("--listen", action="append", metavar="HOST:PORT",
                     help="HTTP listen address (repeatable)")
    run.add_argument("--state-dir", metavar="DIR", help="database and runtime files")
    run.add_argument("--admin-password", metavar="PW",
                     help="password for the admin account created on a fresh state dir")
    run.add_argument("--push-url", action="append", metavar="URL",
                     help="push events to this URL (repeatable)")
    run.add_argument("--config", metavar="FILE", help="INI configuration file")
    run.add_argument("--board", metavar="FILE",
                     help="board description: serial devices and GPIO lines of the modem ports")
    run.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    run.add_argument("--drain-timeout", type=float, metavar="SECONDS",
                     help="on SIGTERM, wait this long for the SMS parts on the air (default 80)")
    add_admin_commands(sub)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "simulate": args.simulate, "slots": args.slots, "sim_latency": args.sim_latency,
        "sim_journal": args.sim_journal,
        "listen": tuple(config.parse_listen(v) for v in args.listen) if args.listen else None,
        "state_dir": args.state_dir, "admin_password": args.admin_password,
        "push_urls": tuple(args.push_url) if args.push_url else None,
        "log_level": args.log_level, "board": args.board, "drain_timeout": args.drain_timeout,
    }


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command in ADMIN_COMMANDS:
        return run_admin(args)
    try:
        file_values = config.load_file(args.config) if args.config else {}
        cfg = config.build(file_values, _overrides(args))
    except ConfigError as exc:
        print(f"smsd: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=cfg.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from smsd.daemon import Daemon
    return Daemon(cfg).run_forever()
