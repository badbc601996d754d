"""smsd-check: a Nagios / Icinga plugin for an smsd box (docs/monitoring.md).

It asks the daemon over HTTP, as any monitoring server would: GET /metrics (the Prometheus text
format) for the numbers, GET /health for the health check; it imports nothing of the daemon, so
it runs on the box (NRPE, Icinga agent) or on the monitoring server alike.

One check per run, the plugin convention: the first line says the state and the value, then
`|` and the perfdata ('label'=value;warn;crit;min;max). Exit status 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN (the daemon did not answer, refused the credentials, or the number is
missing). Thresholds are Nagios ranges: `10` alerts above 10, `5:` below 5, `~:10` above 10,
`10:20` outside 10..20, `@10:20` inside it.
"""
from __future__ import annotations

import argparse
import base64
import math
import os
import ssl
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, Sequence

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
DEFAULT_URL = "http://127.0.0.1:8080"


class CheckError(Exception):
    """Why the check could not tell (UNKNOWN)."""


@dataclass(frozen=True)
class Range:
    """A Nagios threshold range (nagios-plugins development guidelines)."""

    low: float
    high: float
    inside: bool = False            # "@": alert inside low..high instead of outside
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Range:
        body, inside = (text[1:], True) if text.startswith("@") else (text, False)
        low_text, sep, high_text = body.rpartition(":") if ":" in body else ("0", ":", body)
        try:
            low = -math.inf if low_text == "~" else float(low_text or 0)
            high = math.inf if high_text == "" else float(high_text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a threshold range") from None
        if low > high:
            raise argparse.ArgumentTypeError(f"{text!r}: the start is above the end")
        return cls(low, high, inside, text)

    def alerts(self, value: float) -> bool:
        within = self.low <= value <= self.high
        return within if self.inside else not within


@dataclass(frozen=True)
class Check:
    label: str                      # perfdata label
    unit: str                       # perfdata unit of measure ("s" or "")
    warning: str | None             # default thresholds ("" for none)
    critical: str | None
    read: Callable[[dict[str, float]], tuple[float, str]]   # metrics -> (value, text)


def _need(metrics: dict[str, float], name: str, why: str = "") -> float:
    if name not in metrics:
        raise CheckError(why or f"{name} is missing from /metrics (an older smsd?)")
    return metrics[name]


def _ports(m: dict[str, float]) -> tuple[float, str]:
    up, total = _need(m, "smsd_ports_registered"), _need(m, "smsd_ports")
    return up, f"{up:g} of {total:g} ports registered"


def _queue(m: dict[str, float]) -> tuple[float, str]:
    depth = _need(m, "smsd_queue_messages")
    return depth, f"{depth:g} messages queued"


def _oldest(m: dict[str, float]) -> tuple[float, str]:
    age = _need(m, "smsd_queue_oldest_age_seconds")
    return age, f"oldest queued message waiting {age:.0f} s" if age else "no message waiting"


def _last_send(m: dict[str, float]) -> tuple[float, str]:
    age = _need(m, "smsd_last_send_age_seconds", "no successful send recorded yet")
    return age, f"last successful send {age:.0f} s ago"


def _push_backlog(m: dict[str, float]) -> tuple[float, str]:
    backlog = _need(m, "smsd_push_backlog_total_events")
    parked = m.get("smsd_push_parked_batches", 0.0)
    tail = f", {parked:g} batches parked for replay" if parked else ""
    return backlog, f"{backlog:g} events waiting to be pushed{tail}"


CHECKS: dict[str, Check] = {
    "ports": Check("ports_registered", "", None, "1:", _ports),
    "queue": Check("queue", "", "500", "5000", _queue),
    "oldest": Check("oldest_queued", "s", "300", "1800", _oldest),
    "last-send": Check("last_send_age", "s", "3600", "86400", _last_send),
    "push-backlog": Check("push_backlog", "", "100", "1000", _push_backlog),
}


# --- HTTP -------------------------------------------------------------------------------------
def fetch(url: str, *, user: str | None, password: str, timeout: float,
          insecure: bool) -> tuple[int, str]:
    """(status, body) of a GET; an HTTP error status is an answer too."""
    headers = {"User-Agent": "smsd-check"}
    if user:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    context = None
    if url.startswith("https:") and insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:
            return int(resp.status), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")
    except (OSError, ValueError) as exc:       # refused, timed out, TLS, a bad URL
        reason = getattr(exc, "reason", None) or exc
        raise CheckError(f"no answer from {url}: {reason}") from None


def parse_metrics(text: str) -> dict[str, float]:
    """Sample name -> value for the samples without labels (the totals the checks read)."""
    from prometheus_client.parser import text_string_to_metric_families
    out: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if not sample.labels:
                    out[sample.name] = float(sample.value)
    except ValueError as exc:
        raise CheckError(f"/metrics is not in the Prometheus text format: {exc}") from None
    return out


def _refused(status: int, path: str) -> CheckError:
    if status == 401:
        return CheckError(f"{path}: 401, credentials needed or refused (--user, --password-file)")
    if status == 403:
        return CheckError(f"{path}: 403, the user lacks the metrics permission")
    return CheckError(f"{path}: HTTP {status}")


# --- the run ----------------------------------------------------------------------------------
def perfdata(check: Check, value: float, warning: Range | None, critical: Range | None) -> str:
    thresholds = ";".join(r.text if r else "" for r in (warning, critical))
    return f"'{check.label}'={value:g}{check.unit};{thresholds};0;"


def judge(value: float, warning: Range | None, critical: Range | None) -> int:
    if critical is not None and critical.alerts(value):
        return CRITICAL
    if warning is not None and warning.alerts(value):
        return WARNING
    return OK


def run_metric_check(args: argparse.Namespace, password: str) -> tuple[int, str]:
    check = CHECKS[args.check]
    warning = args.warning or (Range.parse(check.warning) if check.warning else None)
    critical = args.critical or (Range.parse(check.critical) if check.critical else None)
    status, body = fetch(args.url.rstrip("/") + "/metrics", user=args.user, password=password,
                         timeout=args.timeout, insecure=args.insecure)
    if status != 200:
        raise _refused(status, "/metrics")
    value, text = check.read(parse_metrics(body))
    state = judge(value, warning, critical)
    return state, f"{text} | {perfdata(check, value, warning, critical)}"


def run_health(args: argparse.Namespace, password: str) -> tuple[int, str]:
    status, body = fetch(args.url.rstrip("/") + "/health", user=args.user, password=password,
                         timeout=args.timeout, insecure=args.insecure)
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if status == 200:
        return OK, "healthy"
    if status == 503:
        return CRITICAL, "; ".join(lines[1:]) or "unhealthy"
    raise _refused(status, "/health")


def read_password(args: argparse.Namespace) -> str:
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as f:
                return f.readline().rstrip("\r\n")
        except OSError as exc:
            raise CheckError(f"cannot read the password file: {exc.strerror}") from None
    return args.password or os.environ.get("SMSD_CHECK_PASSWORD", "")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="smsd-check", description="Nagios/Icinga check of an smsd box, over its HTTP "
        "/metrics and /health. Exit status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        epilog="Defaults: ports -c 1: ; queue -w 500 -c 5000 ; oldest -w 300 -c 1800 (s) ; "
        "last-send -w 3600 -c 86400 (s) ; push-backlog -w 100 -c 1000. Ranges: 10 alerts "
        "above 10, 5: below 5, 10:20 outside, @10:20 inside.")
    p.add_argument("check", choices=[*CHECKS, "health"],
                   help="ports registered, queue depth, oldest queued message (seconds), "
                        "seconds since the last successful send, push backlog (events), or "
                        "the /health answer")
    p.add_argument("-U", "--url", default=DEFAULT_URL,
                   help=f"the daemon's base URL (default {DEFAULT_URL})")
    p.add_argument("-u", "--user", help="a user with the metrics permission (not needed on "
                                        "the box itself with [metrics] open_on_loopback)")
    p.add_argument("-p", "--password", help="its password (visible in ps; prefer "
                                            "--password-file or SMSD_CHECK_PASSWORD)")
    p.add_argument("--password-file", metavar="FILE", help="read the password from FILE")
    p.add_argument("-w", "--warning", type=Range.parse, metavar="RANGE")
    p.add_argument("-c", "--critical", type=Range.parse, metavar="RANGE")
    p.add_argument("-t", "--timeout", type=float, default=10.0, help="seconds (default 10)")
    p.add_argument("-k", "--insecure", action="store_true",
                   help="HTTPS: do not check the certificate (the box's self-signed one)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:           # usage errors are UNKNOWN for a plugin, not 2
        return UNKNOWN if exc.code else OK
    name = f"SMSD {args.check.upper()}"
    try:
        password = read_password(args)
        run = run_health if args.check == "health" else run_metric_check
        state, text = run(args, password)
    except CheckError as exc:
        state, text = UNKNOWN, str(exc)
    print(f"{name} {STATE_NAMES[state]} - {text}")
    return state


if __name__ == "__main__":
    sys.exit(main())
