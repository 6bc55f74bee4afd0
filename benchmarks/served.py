"""`aquila serve` as a benchmark's server: a child process on a free loopback port, ready when `/api` answers."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["served", "Server"]


class Server:
    """One `aquila serve` child on a fixed loopback port, which can be killed and started again on it."""

    def __init__(self, data: Path, *args: str) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.data, self.args = data, args
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> float:
        """Start it and wait until `/api` answers; returns the seconds that took."""
        t0 = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "aquila", "serve", "--data", str(self.data),
                                         "--port", str(self.port), *self.args], stderr=subprocess.DEVNULL)
        while True:
            try:
                if httpx.get(self.url + "/api", timeout=2).status_code == 200:
                    return time.monotonic() - t0
            except httpx.TransportError:
                if time.monotonic() - t0 > timeout_s:
                    raise SystemExit("the server did not start") from None
            time.sleep(0.1)  # polling with a deadline

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or a power cut."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


@contextmanager
def served(data: Path, *args: str) -> Iterator[str]:
    """The server's URL while the block runs (`args`: more `aquila serve` options); stopped after it."""
    server = Server(data, *args)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
