"""A ``lesionseg serve`` of the plug-in's own, on loopback, when the user has none running.

It listens on a free port of 127.0.0.1 with a fresh random token (passed in the environment,
not the process list), offers the measurements' confidence and the suggested next click, and
ends with the viewer (``stop``, also at interpreter exit).
"""

from __future__ import annotations

import atexit
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from napari_lesionseg.client import ServerClient, ServerError

#: loading PyTorch and the weights and one warm-up segmentation: seconds on a laptop
START_TIMEOUT_S = 120.0
DEFAULT_OPTIONS = ("--confidence", "--suggest")


class LocalServer:
    def __init__(self, options: tuple[str, ...] = DEFAULT_OPTIONS,
                 python: str = sys.executable):
        self.options = tuple(options)
        self.python = python
        self.process: subprocess.Popen | None = None
        self.client: ServerClient | None = None
        self._log: Path | None = None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> ServerClient:
        """Start the server and wait until ``/health`` answers; ``ServerError`` with the
        server's last line when it exits or does not become ready in time."""
        port = _free_port()
        token = secrets.token_hex(16)
        log = tempfile.NamedTemporaryFile("w+b", prefix="lesionseg-serve-", suffix=".log",
                                          delete=False)
        self._log = Path(log.name)
        env = dict(os.environ, LESIONSEG_TOKEN=token)
        self.process = subprocess.Popen(
            [self.python, "-m", "algorithm.local_cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), *self.options],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        log.close()
        atexit.register(self.stop)
        client = ServerClient(f"http://127.0.0.1:{port}", token)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"lesionseg serve exited: {self.last_line()}")
            try:
                client.health(timeout_s=2.0)
                self.client = client
                return client
            except ServerError:
                time.sleep(0.2)
        self.stop()
        raise ServerError(f"lesionseg serve was not ready within {timeout_s:.0f} s: "
                          f"{self.last_line()}")

    def last_line(self) -> str:
        if self._log is None or not self._log.exists():
            return "no output"
        lines = [line for line in self._log.read_text(errors="replace").splitlines()
                 if line.strip()]
        return lines[-1].strip() if lines else "no output"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
