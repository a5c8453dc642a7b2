"""``lesionseg serve`` as a command: it refuses bad options in one line before loading a
model, and it starts, on 127.0.0.1 by default, with the token from the environment."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from algorithm.local_cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    assert main(["serve", "--allow-dir", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: --allow-dir {tmp_path / 'missing'} is not a folder")
    assert main(["serve", "--max-sessions", "0"]) == 2
    assert capsys.readouterr().err.strip().endswith("--max-sessions must be positive")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_command_serves_on_loopback_with_the_token_from_the_environment():
    port = _free_port()
    env = {**os.environ, "LESIONSEG_TOKEN": "from-the-env", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "algorithm.local_cli", "serve", "--method",
                             "classical", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            while True:
                assert proc.poll() is None, proc.stderr.read()
                try:
                    health = client.get("/health")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            assert health.json()["token_required"] is True
            assert client.get("/sessions").status_code == 401
            authorised = client.get("/sessions", headers={"Authorization": "Bearer from-the-env"})
            assert authorised.json() == []
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"classical on http://127.0.0.1:{port}" in err and "token required" in err
