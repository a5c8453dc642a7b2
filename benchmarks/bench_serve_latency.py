"""Warm interaction latency through ``lesionseg serve`` against the cold ``python -m algorithm``
run of the same case, measured in the same run.

The case: a synthetic 512 x 512 x 300 CT (0.8 x 0.8 x 1.5 mm, int16) with a 10 cm lesion and
its six protocol clicks (``bench_whole_case.make_large_ct``). First the cold runs: ``python -m
algorithm`` on the case, process start to mask written. Then the server starts as its own
process (``lesionseg serve`` on a free loopback port) and, over real HTTP (urllib, as a plug-in
would): the upload, a new lesion and the six clicks (the first response after the upload); then
``--prompts`` prompts: the six clicks again, then corrective clicks a simulated user places on
the largest error against the known lesion (``training.interaction.corrective_click``), each a
``refine`` prompt. Checks that the server's first mask is the cold run's, voxel for voxel.
Prints the median and 95th percentile, as the client sees them and as the server spent them,
and where a warm refinement's time goes (in-process: the segmenter, the measurements, the rest
of the pipeline).

    python benchmarks/bench_serve_latency.py [--method auto] [--prompts 20] [--cold-repeats 3]
        [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from algorithm.geometry import index_to_world  # noqa: E402
from algorithm.prompts import Clicks, read_clicks  # noqa: E402
from algorithm.server.mask_codec import decode_mask  # noqa: E402
from benchmarks.bench_whole_case import make_large_ct, run_once  # noqa: E402
from training.interaction import corrective_click  # noqa: E402


class Client:
    """The few calls a viewer plug-in makes, with urllib (headers and body in one write)."""

    def __init__(self, url: str):
        self.url = url

    def call(self, method: str, path: str, body: bytes | dict | None = None) -> dict:
        data, headers = body, {}
        if isinstance(body, dict):
            data, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
        elif body is not None:
            headers = {"Content-Type": "application/octet-stream"}
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers)
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read() or b"null")


def start_server(method: str, threads: int | None) -> tuple[subprocess.Popen, Client, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "algorithm.local_cli", "serve", "--method", method,
               "--port", str(port)] + (["--threads", str(threads)] if threads else [])
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    client = Client(f"http://127.0.0.1:{port}")
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"error: the server exited ({proc.returncode}): {' '.join(command)}")
        try:
            client.call("GET", "/health")
            return proc, client, time.perf_counter() - start
        except OSError:
            time.sleep(0.1)


def next_click(mask: np.ndarray, truth: np.ndarray, image: sitk.Image) -> dict:
    """The simulated user's corrective click as a refine prompt, found in the box that holds
    both masks (the whole image would take seconds per click, none of them timed anyway)."""
    both = np.argwhere(mask | truth)
    lo = np.maximum(both.min(axis=0) - 2, 0)
    hi = np.minimum(both.max(axis=0) + 3, truth.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    spacing = np.asarray(image.GetSpacing())[::-1]
    click = corrective_click(mask[box].astype(bool), truth[box], spacing)
    if click is None:  # nothing left to correct: the user confirms the centre
        point, positive = np.argwhere(truth).mean(axis=0) - lo, True
    else:
        point, positive = click
    world = index_to_world(image, np.asarray(point, float) + lo)
    clicks = Clicks.from_points(world if positive else np.zeros((0, 3)),
                                None if positive else world)
    return {"type": "refine", "points": clicks.to_multiple_points()}


def summary(name: str, seconds: list[float]) -> str:
    return (f"{name}: median {np.median(seconds):.3f} s, p95 {np.percentile(seconds, 95):.3f} s "
            f"(min {min(seconds):.3f}, max {max(seconds):.3f}, n={len(seconds)})")


def breakdown(case: Path, method: str, truth: np.ndarray, image: sitk.Image) -> str:
    """Where a warm refinement spends its time, in this process (same code as the server)."""
    import algorithm.server.prompting as prompting
    from algorithm.methods.select import make_segmenter
    from algorithm.pipeline import PipelineConfig, PreparedImage
    from algorithm.server.schemas import ClicksPrompt, RefinePrompt

    segmenter = make_segmenter(method)
    spent = {"segmenter": 0.0, "measurements": 0.0}
    predict, measure = segmenter.predict, prompting.measure_lesion

    def timed(key, fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - start
        return wrapper

    segmenter.predict = timed("segmenter", predict)
    prompting.measure_lesion = timed("measurements", measure)
    prepared = PreparedImage.of(image, cache_size=8)
    six = ClicksPrompt(type="clicks", points=read_clicks(case / "lesion-clicks.json")
                       .to_multiple_points())
    state = prompting.apply_prompt(prepared, prompting.empty_state(image), six, segmenter,
                                   PipelineConfig())
    totals = []
    for key in spent:
        spent[key] = 0.0
    for _ in range(3):
        refine = RefinePrompt.model_validate(next_click(state.mask.to_array(), truth, image))
        start = time.perf_counter()
        state = prompting.apply_prompt(prepared, state, refine, segmenter, PipelineConfig())
        totals.append(time.perf_counter() - start)
    prompting.measure_lesion = measure
    total, n = sum(totals), len(totals)
    rest = total - spent["segmenter"] - spent["measurements"]
    return (f"a warm refinement in-process: {total / n:.3f} s = segmenter "
            f"{spent['segmenter'] / n:.3f} s + measurements {spent['measurements'] / n:.3f} s + "
            f"the rest of the pipeline (grid, back to the image, clean-up, encoding) "
            f"{rest / n:.3f} s (mean of {n})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="auto")
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="the server's torch threads")
    args = parser.parse_args()
    if args.cold_repeats < 1 or args.prompts < 1:
        raise SystemExit("error: --cold-repeats and --prompts must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "case"
        truth = make_large_ct(case)
        image_path = case / "images/medical-image/large_ct.mha"
        image = sitk.ReadImage(str(image_path))
        cold = [run_once(case, Path(tmp) / f"cold{i}", args.method)[0]
                for i in range(args.cold_repeats)]
        proc, client, startup = start_server(args.method, args.threads)
        try:
            body = image_path.read_bytes()
            start = time.perf_counter()
            session = client.call("POST", "/sessions?filename=large_ct.mha", body)["id"]
            uploaded = time.perf_counter() - start
            lesion = client.call("POST", f"/sessions/{session}/lesions")["id"]
            path = f"/sessions/{session}/lesions/{lesion}/prompts"
            six = {"type": "clicks",
                   "points": read_clicks(case / "lesion-clicks.json").to_multiple_points()}
            before = time.perf_counter()
            result = client.call("POST", path, six)
            first = time.perf_counter() - before
            first_after_upload = time.perf_counter() - start
            cold_mask = sitk.GetArrayFromImage(sitk.ReadImage(
                str(Path(tmp) / "cold0/images/lesion-segmentation/large_ct.mha")))
            same = bool(np.array_equal(decode_mask(result["mask"]), cold_mask))
            wall, server = [], []
            for i in range(args.prompts):
                prompt = six if i == 0 else next_click(decode_mask(result["mask"]), truth, image)
                before = time.perf_counter()
                result = client.call("POST", path, prompt)
                wall.append(time.perf_counter() - before)
                server.append(result["seconds"])
            health = client.call("GET", "/health")
        finally:
            proc.terminate()
            proc.wait(60)
        print(f"CPU cores: {os.cpu_count()}, image 512x512x300 int16 "
              f"({len(body) / 1e6:.0f} MB MHA), method {health['method']}")
        print(summary("cold python -m algorithm, process start to mask written", cold))
        print(f"server start-up (model loaded and warmed up): {startup:.2f} s")
        print(f"upload (read and prepared): {uploaded:.3f} s; first prompt (six clicks): "
              f"{first:.3f} s; first mask after the upload began: {first_after_upload:.3f} s")
        print(f"the server's first mask equals the cold run's: {same}")
        print(summary(f"{args.prompts} prompts (six clicks, then corrective clicks), client",
                      wall))
        print(summary(f"{args.prompts} prompts, server time", server))
        print(f"median warm prompt vs cold run: {np.median(cold) / np.median(wall):.1f}x faster")
        print(breakdown(case, args.method, truth, image))


if __name__ == "__main__":
    main()
