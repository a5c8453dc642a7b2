"""The client example in docs/serve.md runs as printed against a live server (with a token), so
the documentation cannot drift from the API."""

import json
import re
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from algorithm.prompts import Clicks
from algorithm.server.app import ServerSettings
from tests.algorithm.helpers import box_phantom, extreme_clicks
from tests.algorithm.serve_support import running_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "serve.md"


def _client_example() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## A client in Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_client_runs_against_the_server(tmp_path, monkeypatch, capsys):
    image, truth = box_phantom()
    sitk.WriteImage(image, str(tmp_path / "scan.nii.gz"))
    (tmp_path / "clicks.json").write_text(
        json.dumps(Clicks.from_points(extreme_clicks(image, truth)).to_multiple_points()))
    leak = list(image.TransformContinuousIndexToPhysicalPoint([20.0, 21.0, 9.0]))
    monkeypatch.chdir(tmp_path)
    with running_server(ServerSettings(token="doc-token")) as live:
        values = {"SERVER": repr(live.url), "TOKEN": repr("doc-token"),
                  "IMAGE": repr("scan.nii.gz"), "CLICKS": repr("clicks.json"),
                  "LEAK": repr(leak)}
        code = _client_example()
        for name, value in values.items():
            code, n = re.subn(rf"^{name} = .*$", f"{name} = {value}", code, flags=re.M)
            assert n == 1, name
        namespace: dict = {}
        exec(compile(code, str(DOC), "exec"), namespace)
        assert namespace["mask"].shape == truth.shape and namespace["mask"].dtype == np.uint8
        assert namespace["result"]["step"] == 1  # after the undo
        with live.client("doc-token") as client:
            assert client.get("/sessions").json() == []  # the example deleted its session
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith("mm") and "voxels after the correction, step 2" in printed[1]
