"""Stand in for systemd's notification socket: bind SOCKET (AF_UNIX datagrams, as systemd
gives in NOTIFY_SOCKET), print each message the daemon sends, and exit 0 once it sent READY=1
(non-zero when TIMEOUT seconds pass first).

    python3 notify_listen.py SOCKET TIMEOUT
"""
from __future__ import annotations

import os
import socket
import sys
import time


def listen(path: str, timeout: float) -> bool:
    if os.path.exists(path):
        os.unlink(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        os.chmod(path, 0o666)       # the daemon runs as its own user
        print("listening", flush=True)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                break
            for line in data.splitlines():
                print(f"notify: {line}", flush=True)
            if "READY=1" in data.splitlines():
                return True
    return False


if __name__ == "__main__":
    sys.exit(0 if listen(sys.argv[1], float(sys.argv[2])) else 1)
