"""Invoke mode against exec mode: seconds per case for cases in a row, in the same run.

Exec mode is what grand-challenge does by default: a fresh ``python -m algorithm`` process per
case (Python, PyTorch and the weights load every time). Invoke mode keeps one
``python -m algorithm.platform_server`` running and sends ``POST /invoke`` per case, the model
loaded once. Both segment the same synthetic case into a fresh output folder each time; exec
mode is timed from process start to exit, invoke mode from request to response (the server's
start-up until ``GET /health`` answers 200 is printed apart, paid once per container). Prints
the medians and their ratio. Docker is left out: this is the process-level difference.

    python benchmarks/bench_invoke.py [--cases 10] [--method auto] [--size phantom|large]

``phantom``: the 40 x 96 x 96 CT phantom of the example case (seconds to run); ``large``: the
512 x 512 x 300 CT of bench_whole_case.py (its 10 cm lesion; minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from algorithm.phantom import make_phantom  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402
from benchmarks.bench_whole_case import make_large_ct  # noqa: E402
from scripts.make_example_cases import inputs_listing  # noqa: E402


def make_phantom_case(folder: Path) -> None:
    """The example case's CT phantom, in the platform layout with its inputs.json."""
    phantom = make_phantom("CT", seed=1)
    (folder / "images/medical-image").mkdir(parents=True)
    sitk.WriteImage(phantom.image, str(folder / "images/medical-image/phantom.mha"),
                    useCompression=True)
    clicks = Clicks.from_points(phantom.clicks_xyz).to_multiple_points()
    (folder / "lesion-clicks.json").write_text(json.dumps(clicks))
    (folder / "inputs.json").write_text(json.dumps(inputs_listing("phantom.mha", clicks)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method: str, url: str, timeout: float) -> int:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def exec_mode(case: Path, outputs: Path, method: str, n: int) -> list[float]:
    times = []
    for i in range(n):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "algorithm", "--input", str(case),
                               "--output", str(outputs / f"exec-{i}"), "--method", method],
                              cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"exec mode failed:\n{proc.stderr}")
    return times


def invoke_mode(case: Path, outputs: Path, method: str, n: int) -> tuple[float, list[float]]:
    port = free_port()
    output = outputs / "invoke"
    output.mkdir()
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "algorithm.platform_server", "--host", "127.0.0.1", "--port",
         str(port), "--input", str(case), "--output", str(output), "--method", method],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while request("GET", url + "/health", 5) != 200:
            if server.poll() is not None:
                raise SystemExit(f"the invoke server stopped:\n{server.stderr.read()}")
            time.sleep(0.05)
        ready = time.perf_counter() - start
        times = []
        for _ in range(n):
            shutil.rmtree(output)
            output.mkdir()
            start = time.perf_counter()
            status = request("POST", url + "/invoke", 600)
            times.append(time.perf_counter() - start)
            if status != 201:
                raise SystemExit(f"POST /invoke answered {status}")
        return ready, times
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--method", default="auto")
    parser.add_argument("--size", choices=("phantom", "large"), default="phantom")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case, outputs = Path(tmp) / "case", Path(tmp) / "out"
        outputs.mkdir()
        if args.size == "large":
            make_large_ct(case)
        else:
            make_phantom_case(case)
        ready, warm = invoke_mode(case, outputs, args.method, args.cases)
        cold = exec_mode(case, outputs, args.method, args.cases)
    print(f"CPU cores: {os.cpu_count()}, case: {args.size}, method {args.method}, "
          f"{args.cases} cases in a row per mode")
    print(f"exec mode (a process per case):  median {np.median(cold):.2f} s per case "
          f"(min {min(cold):.2f}, max {max(cold):.2f})")
    print(f"invoke mode (one server):        median {np.median(warm):.2f} s per case "
          f"(min {min(warm):.2f}, max {max(warm):.2f}); server ready after {ready:.2f} s, once")
    print(f"ratio exec / invoke: {np.median(cold) / np.median(warm):.1f}x")


if __name__ == "__main__":
    main()
