"""A real ``lesionseg serve`` app on a free loopback port, in a thread, for the server tests."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import SimpleITK as sitk
import uvicorn

from algorithm.methods.base import Segmenter
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.prompts import Clicks
from algorithm.server.app import ServerSettings, create_app


@dataclass
class LiveServer:
    url: str
    port: int
    app: object

    def client(self, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


@contextmanager
def running_server(settings: ServerSettings = ServerSettings(),
                   segmenter: Segmenter | None = None,
                   clock: Callable[[], float] = time.monotonic) -> Iterator[LiveServer]:
    app = create_app(settings, segmenter or GeodesicSegmenter(), clock=clock)
    # IPPROTO_TCP spelt out: asyncio sets TCP_NODELAY only on sockets that say so, and without
    # it every kept-alive request waits 40 ms for a delayed ACK (uvicorn's own sockets say so)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, app)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def image_bytes(image: sitk.Image, suffix: str = ".mha") -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"image{suffix}"
        sitk.WriteImage(image, str(path), useCompression=True)
        return path.read_bytes()


def upload(client: httpx.Client, image: sitk.Image, suffix: str = ".mha", **params) -> dict:
    response = client.post("/sessions", content=image_bytes(image, suffix),
                           params={"filename": f"case{suffix}", **params})
    assert response.status_code == 201, response.text
    return response.json()


def clicks_prompt(points: np.ndarray, negative: np.ndarray | None = None,
                  kind: str = "clicks") -> dict:
    return {"type": kind, "points": Clicks.from_points(points, negative).to_multiple_points()}


def background_prompt(points: np.ndarray) -> dict:
    """A refinement with background clicks only."""
    value = Clicks.from_points(np.zeros((0, 3)), points).to_multiple_points()
    return {"type": "refine", "points": value}


def new_lesion(client: httpx.Client, session_id: str, name: str | None = None) -> int:
    response = client.post(f"/sessions/{session_id}/lesions",
                           json={"name": name} if name else None)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def lesion_path(client: httpx.Client, image: sitk.Image) -> tuple[str, str]:
    """A new session for ``image`` with one lesion: the session's id and the lesion's path."""
    session = upload(client, image)["id"]
    return session, f"/sessions/{session}/lesions/{new_lesion(client, session)}"
