"""The server under faults and bad input: tokens, body limits while streaming, a client that
disconnects mid-upload, a crash inside one session's request while another session works,
session and lesion limits, idle expiry, and uploads that are not one self-contained image."""

import socket
import threading
import time

import numpy as np
import pytest

from algorithm.methods.classical import GeodesicSegmenter
from algorithm.server.app import ServerSettings
from algorithm.server.sessions import Limits
from tests.algorithm.helpers import box_phantom, extreme_clicks
from tests.algorithm.serve_support import (
    clicks_prompt, image_bytes, new_lesion, running_server, upload,
)


@pytest.fixture(scope="module")
def phantom():
    image, truth = box_phantom()
    return image, truth, extreme_clicks(image, truth)


def test_a_token_is_needed_everywhere_but_health(phantom):
    image, _, _ = phantom
    with running_server(ServerSettings(token="s3cret-token")) as live:
        with live.client() as anonymous:
            assert anonymous.get("/health").json()["token_required"] is True
            for method, path in (("GET", "/sessions"), ("POST", "/sessions"),
                                 ("GET", "/sessions/x/lesions/1"),
                                 ("POST", "/sessions/x/lesions/1/prompts")):
                refused = anonymous.request(method, path)
                assert refused.status_code == 401, path
                assert refused.headers["www-authenticate"] == "Bearer"
                assert "bearer token" in refused.json()["detail"]
            basic = anonymous.get("/sessions", headers={"Authorization": "Basic czNjcmV0"})
            assert basic.status_code == 401
        with live.client("wrong-token") as wrong:
            assert wrong.get("/sessions").status_code == 401
        with live.client("s3cret-token") as right:
            assert right.get("/sessions").json() == []
            assert upload(right, image)["modality"] == "CT"


def test_an_upload_over_the_limit_is_refused_while_it_streams(phantom, tmp_path):
    image, _, _ = phantom
    body = image_bytes(image)
    settings = ServerSettings(max_upload_bytes=len(body) // 3, upload_dir=tmp_path)
    with running_server(settings) as live, live.client() as client:
        declared = client.post("/sessions", content=body)
        assert declared.status_code == 413 and "--max-upload-mb" in declared.json()["detail"]

        def chunks():  # no Content-Length: the limit bites while the body streams
            for start in range(0, len(body), 4096):
                yield body[start:start + 4096]

        streamed = client.post("/sessions", content=chunks())
        assert streamed.status_code == 413
        assert client.get("/sessions").json() == [] and not list(tmp_path.iterdir())
        too_long = client.post("/sessions/x/lesions/1/prompts", content=b" " * (2 << 20),
                               headers={"Content-Type": "application/json"})
        assert too_long.status_code == 413
        assert client.get("/health").status_code == 200


def test_a_client_that_disconnects_mid_upload_leaves_nothing_behind(phantom, tmp_path):
    image, _, _ = phantom
    with running_server(ServerSettings(upload_dir=tmp_path)) as live, live.client() as client:
        raw = socket.create_connection(("127.0.0.1", live.port))
        raw.sendall(b"POST /sessions?filename=cut.mha HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/octet-stream\r\nContent-Length: 5000000\r\n\r\n")
        raw.sendall(image_bytes(image)[:50000])
        deadline = time.monotonic() + 5
        while not list(tmp_path.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.01)  # the upload has begun streaming to disk
        assert list(tmp_path.iterdir())
        raw.close()
        while list(tmp_path.iterdir()) and time.monotonic() < deadline + 5:
            time.sleep(0.02)
        assert not list(tmp_path.iterdir())
        assert client.get("/sessions").json() == []
        assert upload(client, image)["source"] == "case.mha"


class CrashingSegmenter(GeodesicSegmenter):
    """Crashes on prompts with exactly seven tumour clicks: the injected fault."""

    def predict(self, case):
        if len(case.positive) == 7:
            raise RuntimeError("injected crash\nsecond line")
        return super().predict(case)


def test_a_crash_in_one_session_answers_500_and_other_sessions_go_on(phantom):
    image, truth, six = phantom
    seven = np.vstack([six, six.mean(axis=0, keepdims=True)])
    settings = ServerSettings(compute_threads=2)
    with running_server(settings, CrashingSegmenter()) as live, live.client() as client:
        broken, healthy = upload(client, image)["id"], upload(client, image)["id"]
        for sid in (broken, healthy):
            new_lesion(client, sid)
        results = {}

        def send(name, sid, points):
            with live.client() as own:
                results[name] = own.post(f"/sessions/{sid}/lesions/1/prompts",
                                         json=clicks_prompt(points))

        threads = [threading.Thread(target=send, args=("crash", broken, seven)),
                   threading.Thread(target=send, args=("fine", healthy, six))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        crash = results["crash"]
        assert crash.status_code == 500
        assert crash.json() == {"detail": "internal error: RuntimeError: injected crash second "
                                "line"}
        assert results["fine"].status_code == 200 and results["fine"].json()["voxels"] > 0
        lesion = client.get(f"/sessions/{broken}/lesions/1").json()
        assert lesion["step"] == 0 and lesion["voxels"] == 0  # as it was before the crash
        again = client.post(f"/sessions/{broken}/lesions/1/prompts", json=clicks_prompt(six))
        assert again.status_code == 200 and again.json()["step"] == 1


class GatedSegmenter(GeodesicSegmenter):
    """Blocks inside ``predict`` until the test opens the gate."""

    def __init__(self):
        super().__init__()
        self.entered, self.gate = threading.Event(), threading.Event()

    def predict(self, case):
        self.entered.set()
        assert self.gate.wait(30)
        return super().predict(case)


def test_a_running_segmentation_blocks_neither_other_sessions_nor_light_requests(phantom):
    """While one session's prompt computes, other requests are answered; a second step on the
    same session waits for the first and runs after it."""
    image, _, six = phantom
    segmenter = GatedSegmenter()
    with running_server(ServerSettings(), segmenter) as live, live.client() as client:
        busy, other = upload(client, image)["id"], upload(client, image)["id"]
        new_lesion(client, busy), new_lesion(client, other)
        done = {}

        def call(name, method, path, **kw):
            with live.client() as own:
                done[name] = own.request(method, path, **kw)

        prompt = threading.Thread(target=call, args=("prompt", "POST",
                                                     f"/sessions/{busy}/lesions/1/prompts"),
                                  kwargs={"json": clicks_prompt(six)})
        prompt.start()
        assert segmenter.entered.wait(30)
        undo = threading.Thread(target=call, args=("undo", "POST",
                                                   f"/sessions/{busy}/lesions/1/undo"))
        undo.start()
        assert client.get("/health").status_code == 200
        assert client.get(f"/sessions/{other}/lesions").status_code == 200
        assert client.get(f"/sessions/{busy}/lesions/1").json()["step"] == 0
        undo.join(0.3)
        assert "undo" not in done and "prompt" not in done  # both wait for the gate
        segmenter.gate.set()
        prompt.join(30), undo.join(30)
        assert done["prompt"].status_code == 200 and done["prompt"].json()["step"] == 1
        assert done["undo"].status_code == 200 and done["undo"].json()["step"] == 0


def test_session_and_lesion_limits_and_idle_expiry(phantom):
    image, _, six = phantom
    now = [1000.0]
    limits = Limits(max_sessions=2, idle_seconds=60.0, max_lesions=2, max_undo=2)
    with running_server(ServerSettings(limits=limits), clock=lambda: now[0]) as live, \
            live.client() as client:
        first, second = upload(client, image)["id"], upload(client, image)["id"]
        full = client.post("/sessions", content=image_bytes(image))
        assert full.status_code == 429 and "maximum of 2 sessions" in full.json()["detail"]
        new_lesion(client, first), new_lesion(client, first)
        assert client.post(f"/sessions/{first}/lesions").status_code == 429
        base = f"/sessions/{first}/lesions/1"
        for n in (6, 5, 4, 3):
            assert client.post(f"{base}/prompts", json=clicks_prompt(six[:n])).status_code == 200
        assert client.post(f"{base}/undo").json()["step"] == 1
        assert len(client.post(f"{base}/undo").json()["clicks"]["points"]) == 5
        assert client.post(f"{base}/undo").status_code == 409  # only two steps remembered
        now[0] += 30
        client.get(f"/sessions/{second}")  # keeps the second one alive
        now[0] += 45
        gone = client.get(f"/sessions/{first}")
        assert gone.status_code == 404 and "expired" in gone.json()["detail"]
        assert client.get(f"/sessions/{second}").status_code == 200
        assert upload(client, image)["id"] not in (first, second)


MHA_HEADER = ("ObjectType = Image\nNDims = 3\nDimSize = {size}\nElementType = MET_UCHAR\n"
              "ElementDataFile = {data}\n")


@pytest.mark.parametrize("body, message", [
    (MHA_HEADER.format(size="2 2 2", data="/etc/hostname").encode(), "separate data file"),
    (b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n"
     b"data file: /etc/hostname\n\n", "separate data file"),
    (MHA_HEADER.format(size="100000 100000 100000", data="LOCAL").encode() + b"\0" * 64,
     "over the server's limit"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "PNG picture"),
    (b'{"type": "Multiple points"}', "JSON file"),
    (b"", "has no body"),
    (MHA_HEADER.format(size="4 4 1", data="LOCAL").replace("NDims = 3", "NDims = 2")
     .replace("4 4 1", "4 4").encode() + b"\0" * 16, "3D"),
])
def test_uploads_that_are_not_one_self_contained_3d_image_are_refused(body, message):
    with running_server() as live, live.client() as client:
        refused = client.post("/sessions", content=body, params={"filename": "bad.mha"})
        assert refused.status_code == 400, refused.text
        assert message in refused.json()["detail"] and "\n" not in refused.json()["detail"]
        assert client.get("/sessions").json() == []


def test_malformed_requests_get_a_one_line_422(phantom):
    image, _, six = phantom
    with running_server() as live, live.client() as client:
        sid = upload(client, image)["id"]
        new_lesion(client, sid)
        base = f"/sessions/{sid}/lesions/1/prompts"
        cases = [
            client.post(base, content=b"{not json", headers={"Content-Type": "application/json"}),
            client.post(base, json={"type": "scribble", "points": []}),
            client.post(base, json={"type": "clicks", "points": {"type": "Multiple points"}}),
            client.post(base, json={**clicks_prompt(six), "extra": 1}),
            client.get(f"/sessions/{sid}/lesions/one"),
            client.get(f"/sessions/{sid}/lesions/1/mask", params={"format": "png"}),
        ]
        for response in cases:
            assert response.status_code == 422, response.text
            detail = response.json()["detail"]
            assert isinstance(detail, str) and detail and "\n" not in detail
        named = client.post(base, json={"type": "clicks", "points": {
            "type": "Multiple points", "version": {"major": 1, "minor": 0},
            "points": [{"point": [0, 0, 0], "name": "lesion"}]}})
        assert named.status_code == 400 and "neither 'tumor' nor 'background'" in named.text
        outside = client.post(base, json=clicks_prompt(six + 1000.0))
        assert outside.status_code == 400 and "outside the image" in outside.json()["detail"]


def test_a_loopback_server_answers_only_to_loopback_host_names():
    """A web page cannot reach it by DNS rebinding (its Host header names the attacker's site)."""
    from algorithm.server.run import LOOPBACK_NAMES

    with running_server(ServerSettings(allowed_hosts=LOOPBACK_NAMES)) as live, \
            live.client() as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"Host": f"localhost:{live.port}"}).status_code == 200
        rebound = client.get("/sessions", headers={"Host": "evil.example"})
        assert rebound.status_code == 400


def test_browser_viewers_from_the_listed_origins_may_call_the_server():
    settings = ServerSettings(cors_origins=("http://localhost:3000",), token="t")
    with running_server(settings) as live, live.client() as client:
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type"}
        allowed = client.options("/sessions", headers={"Origin": "http://localhost:3000",
                                                       **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
        other = client.options("/sessions", headers={"Origin": "http://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
