"""`aquila serve` as a benchmark's server: a child process on a free loopback port, ready when `/api` answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["served"]


@contextmanager
def served(data: Path, *args: str) -> Iterator[str]:
    """The server's URL while the block runs (`args`: more `aquila serve` options); stopped after it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    server = subprocess.Popen([sys.executable, "-m", "aquila", "serve", "--data", str(data), "--port", str(port),
                               *args], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
            time.sleep(0.1)  # polling with a deadline
        yield url
    finally:
        server.terminate()
        server.wait(30)
