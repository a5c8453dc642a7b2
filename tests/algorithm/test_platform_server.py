"""grand-challenge invoke mode through real HTTP on loopback: uvicorn serving the app in a
thread, the model loaded once, /health 503 until it is, and case after case from one process
with the same files as exec mode (``python -m algorithm``)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn

from algorithm.cli import main as exec_main
from algorithm.errors import WeightsError
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.platform_server import create_app
from algorithm.prompts import Clicks
from tests.algorithm.helpers import box_phantom, extreme_clicks, write_platform_case


class Server:
    """The app under uvicorn on a free 127.0.0.1 port, in a thread."""

    def __init__(self, app) -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self._socket]}, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *_) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self._socket.close()

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30)

    def post(self, path: str) -> httpx.Response:
        return httpx.post(self.url + path, timeout=60)

    def wait_ready(self) -> None:
        """Poll GET /health until 200, as the platform does."""
        seen = []
        deadline = time.monotonic() + 20
        while not seen or seen[-1] != 200:
            assert time.monotonic() < deadline, f"never ready: {seen}"
            seen.append(self.get("/health").status_code)
            time.sleep(0.01)


@dataclass
class GatedSegmenter(GeodesicSegmenter):
    """The classical method; ``predict`` waits for ``gate`` (a case that takes a while)."""

    gate: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)

    def predict(self, case):
        self.entered.set()
        assert self.gate.wait(20)
        return super().predict(case)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """Two good cases (different lesions and grids) and a bad one (clicks off the image)."""
    root = tmp_path_factory.mktemp("cases")
    image_a, mask_a = box_phantom()
    image_b, mask_b = box_phantom(shape=(20, 48, 60), lo=(5, 12, 20), hi=(14, 34, 44),
                                  spacing_xyz=(0.9, 0.8, 2.5), origin=(-30.0, 12.0, 5.0))
    clicks_a = Clicks.from_points(extreme_clicks(image_a, mask_a)).to_multiple_points()
    clicks_b = Clicks.from_points(extreme_clicks(image_b, mask_b)).to_multiple_points()
    far = Clicks.from_points(extreme_clicks(image_a, mask_a) + 5000.0).to_multiple_points()
    return {
        "first": write_platform_case(root / "first", image_a, clicks_a, name="first.mha"),
        "outside": write_platform_case(root / "outside", image_a, far, name="outside.mha"),
        "second": write_platform_case(root / "second", image_b, clicks_b, name="second.mha"),
    }


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def stage(case: Path, input_dir: Path) -> None:
    shutil.rmtree(input_dir, ignore_errors=True)
    shutil.copytree(case, input_dir)


def test_health_is_503_until_the_model_is_loaded(tmp_path):
    loaded = threading.Event()

    def slow_loader():
        assert loaded.wait(20)
        return GeodesicSegmenter()

    app = create_app(slow_loader, tmp_path / "in", tmp_path / "out")
    with Server(app) as server:
        assert server.get("/health").status_code == 503
        assert server.get("/health").json() == {"status": "loading"}
        refused = server.post("/invoke")
        assert refused.status_code == 503 and "loading" in refused.json()["error"]
        loaded.set()
        server.wait_ready()
        assert server.get("/health").json() == {"status": "ready", "method": "classical"}


def test_cases_in_a_row_from_one_process_match_exec_mode(tmp_path, cases, capfd):
    loads = []

    def loader():
        loads.append(1)
        return GeodesicSegmenter()

    input_dir, output_dir = tmp_path / "input", tmp_path / "output"
    output_dir.mkdir()
    with Server(create_app(loader, input_dir, output_dir)) as server:
        server.wait_ready()
        served = {}
        for name in ("first", "outside", "second"):
            stage(cases[name], input_dir)
            capfd.readouterr()
            response = server.post("/invoke")
            err = capfd.readouterr().err.strip().splitlines()
            if name == "outside":
                assert response.status_code == 422
                body = response.json()
                assert body["status"] == "failed" and "outside the image" in body["error"]
                assert err[-1] == f"error: {body['error']}"
                assert files_under(output_dir) == {}
            else:
                assert response.status_code == 201, response.text
                assert response.json()["outputs"] == [
                    f"images/lesion-segmentation/{name}.mha", "lesion-measurements.json",
                    "lesion-recist-axes.json"]
                served[name] = files_under(output_dir)
                shutil.rmtree(output_dir)
                output_dir.mkdir()
    assert loads == [1]

    for name, files in served.items():
        exec_out = tmp_path / f"exec-{name}"
        assert exec_main(["--input", str(cases[name]), "--output", str(exec_out),
                          "--method", "classical"]) == 0
        assert files == files_under(exec_out)  # byte for byte: the mask and both JSON files


def test_an_internal_error_is_500_and_the_next_case_still_runs(tmp_path, cases, capfd):
    @dataclass
    class FailsOnce(GeodesicSegmenter):
        failed: bool = False

        def predict(self, case):
            if not self.failed:
                self.failed = True
                raise RuntimeError("CUDA went away")
            return super().predict(case)

    input_dir, output_dir = tmp_path / "input", tmp_path / "output"
    output_dir.mkdir()
    stage(cases["first"], input_dir)
    with Server(create_app(FailsOnce, input_dir, output_dir)) as server:
        server.wait_ready()
        capfd.readouterr()
        broken = server.post("/invoke")
        assert broken.status_code == 500
        assert broken.json()["error"] == "internal error: RuntimeError: CUDA went away"
        assert capfd.readouterr().err.strip().splitlines()[-1] == (
            "error: internal error: RuntimeError: CUDA went away")
        assert files_under(output_dir) == {}
        assert server.post("/invoke").status_code == 201
        assert "images/lesion-segmentation/first.mha" in files_under(output_dir)


def test_one_case_at_a_time(tmp_path, cases):
    segmenter = GatedSegmenter()
    input_dir, output_dir = tmp_path / "input", tmp_path / "output"
    stage(cases["first"], input_dir)
    with Server(create_app(lambda: segmenter, input_dir, output_dir)) as server:
        server.wait_ready()
        first: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: first.append(server.post("/invoke")))
        thread.start()
        assert segmenter.entered.wait(20)
        assert server.get("/health").status_code == 200  # answered while the case runs
        busy = server.post("/invoke")
        assert busy.status_code == 409 and busy.json()["status"] == "busy"
        segmenter.gate.set()
        thread.join(30)
        assert first[0].status_code == 201


def test_a_model_that_cannot_load_fails_health_and_says_why(tmp_path, capfd):
    stopped = threading.Event()

    def no_weights():
        raise WeightsError("no model weights found")

    app = create_app(no_weights, tmp_path / "in", tmp_path / "out", on_load_failure=stopped.set)
    with Server(app) as server:
        assert stopped.wait(20)
        health = server.get("/health")
        assert health.status_code == 500
        assert health.json() == {"status": "failed", "error": "no model weights found"}
        assert server.post("/invoke").status_code == 503
    assert capfd.readouterr().err.strip().splitlines()[-1] == "error: no model weights found"
    assert app.state.model.exit_code == 2


def test_the_probability_map_when_configured(tmp_path, cases):
    input_dir, output_dir = tmp_path / "input", tmp_path / "output"
    stage(cases["first"], input_dir)
    app = create_app(GeodesicSegmenter, input_dir, output_dir, write_probability=True)
    with Server(app) as server:
        server.wait_ready()
        response = server.post("/invoke")
    assert response.status_code == 201
    assert "images/lesion-probability/first.mha" in response.json()["outputs"]
    assert np.isfinite(response.json()["seconds"])


def test_the_entry_point_exits_with_the_error_when_the_model_cannot_load(tmp_path):
    """``python -m algorithm.platform_server``: a server that can never become ready stops, so
    the platform sees the failure at once instead of polling /health until it times out."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "algorithm.platform_server", "--host", "127.0.0.1", "--port", "0",
         "--input", str(tmp_path), "--output", str(tmp_path / "out"),
         "--weights", str(tmp_path / "no-weights")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: no model_card.json in weights folder {tmp_path / 'no-weights'}")
    assert "Started server process" in proc.stdout  # uvicorn logs to stdout: stderr is ours
