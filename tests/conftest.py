"""Shared fixtures: generated real-looking elements, and ../shared/data when it is present."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aquila.constellation.elements import ElementSet

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EPOCH = datetime(2026, 3, 19, tzinfo=UTC)


WEB_MERCATOR_HALF_M = 20037508.342789244
"""EPSG:3857's half circumference, metres."""


def tile_pixel(lon: float, lat: float, z: int, tile_px: int = 512) -> tuple[int, int, float, float]:
    """(tile x, tile y, column, row): the XYZ tile holding lon/lat at zoom z and its pixel there — Web Mercator by
    PROJ (rasterio.warp), not by the code under test."""
    from rasterio.warp import transform

    xs, ys = transform("EPSG:4326", "EPSG:3857", [lon], [lat])
    half = WEB_MERCATOR_HALF_M
    px = (xs[0] + half) / (2 * half) * 2 ** z * tile_px
    py = (half - ys[0]) / (2 * half) * 2 ** z * tile_px
    return int(px // tile_px), int(py // tile_px), px % tile_px, py % tile_px


def shared_path(*parts: str) -> Path:
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is absent (../shared/data is only beside CI and developer checkouts)")
    return p


def generated_elements(n: int, seed: int = 7, epoch: datetime = EPOCH) -> list[ElementSet]:
    """Real-looking LEO element sets: 400-900 km, inclinations 30-100 deg, small e, real drag terms."""
    from sgp4.api import WGS72, Satrec

    rng = np.random.default_rng(seed)
    out = []
    epoch_1949 = (epoch - datetime(1949, 12, 31, tzinfo=UTC)).total_seconds() / 86400.0
    for i in range(n):
        alt = rng.uniform(400, 900)
        a = 6378.137 + alt
        n_rad_min = math.sqrt(398600.4418 / a**3) * 60
        sat = Satrec()
        sat.sgp4init(WGS72, "i", 90000 + i, epoch_1949 - rng.uniform(0, 2), rng.uniform(1e-5, 2e-4), 0.0, 0.0,
                     rng.uniform(1e-4, 0.01), math.radians(rng.uniform(0, 360)),
                     math.radians(rng.uniform(30, 100)), math.radians(rng.uniform(0, 360)), n_rad_min,
                     math.radians(rng.uniform(0, 360)))
        out.append(ElementSet(90000 + i, f"GEN-{i}", sat, "generated"))
    return out


def random_points(n: int, seed: int = 3, max_abs_lat: float = 85.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lim = math.sin(math.radians(max_abs_lat))
    return np.degrees(np.arcsin(rng.uniform(-lim, lim, n))), rng.uniform(-180, 180, n)


class LiveServer:
    """A real uvicorn server on a free loopback port, running the app of an Instance in a thread."""

    def __init__(self, data_dir: Path, settings: Any = None) -> None:
        import socket
        import threading

        import uvicorn

        from aquila.api.app import create_app
        from aquila.instance import Instance

        self.instance = Instance.open(data_dir, max_body_bytes=256 * 1024)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        if settings is None:  # the outlook published a short step after it began (30 s by default)
            from aquila.config import Settings

            settings = Settings(outlook_publish_step_s=0.2)
        self.app = create_app(self.instance, settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                log_level="error", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 20
        while not self.server.started:  # poll with a deadline, never a blind sleep
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            self.thread.join(0.01)
        self.url = f"http://127.0.0.1:{self.port}"

    def token(self, u) -> str:  # type: ignore[no-untyped-def]
        return self.instance.tokens.issue(u)

    def client(self, u=None):  # type: ignore[no-untyped-def]
        import httpx

        headers = {"Authorization": f"Bearer {self.token(u)}"} if u is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.dissemination.close()  # what the lifespan's shutdown does under `aquila serve`


@pytest.fixture()
def live(tmp_path: Path):  # type: ignore[no-untyped-def]
    srv = LiveServer(tmp_path / "instance")
    yield srv
    srv.stop()


def send(client: Any, method: str, url: str, **kw: Any) -> Any:
    """A request; a stream that opens (Server-Sent Events) is closed once its status and headers are in."""
    with client.stream(method, url, **kw) as resp:
        if resp.headers.get("content-type", "").startswith("text/event-stream") and resp.status_code == 200:
            return resp
        resp.read()
    return resp


def poll_until(predicate: Any, timeout_s: float = 30.0) -> Any:
    """The predicate's first truthy value, polled every 50 ms until the deadline (then its last value)."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.05)  # polling with a deadline, never a blind wait
    return predicate()


def serve_child(data: Path, *args: str, port: int = 0, timeout_s: float = 60.0) -> tuple[Any, int]:
    """`aquila serve` as a child process on `port` (0: a free loopback port), once `/api` answers: (process, port).
    For tests that need a real process (killed with SIGKILL, or driven by another client library)."""
    import socket
    import subprocess
    import sys

    import httpx

    if not port:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    proc = subprocess.Popen([sys.executable, "-m", "aquila", "serve", "--data", str(data), "--port", str(port),
                             *args], stderr=subprocess.DEVNULL)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    if not poll_until(up, timeout_s):
        proc.terminate()
        proc.wait(10)
        raise AssertionError("aquila serve did not start")
    return proc, port
