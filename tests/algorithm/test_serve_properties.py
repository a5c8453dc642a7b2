"""Property-based: random JSON, bytes, ids and query values at every endpoint and every prompt
kind. Whatever arrives, the server answers below 500 with a one-line message and stays up."""

import json
from urllib.parse import quote

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algorithm.methods.classical import GeodesicSegmenter
from algorithm.server.app import ServerSettings
from algorithm.server.mask_codec import decode_mask
from algorithm.server.sessions import Limits
from tests.algorithm.helpers import OBLIQUE_FLIPPED, box_phantom
from tests.algorithm.serve_support import new_lesion, running_server, upload

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

json_scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=16)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A server with a session holding a small oblique image and one lesion."""
    folder = tmp_path_factory.mktemp("allowed")
    image, _ = box_phantom(shape=(10, 20, 18), lo=(3, 6, 5), hi=(7, 14, 13),
                           direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0))
    sitk.WriteImage(image, str(folder / "case.mha"))
    limits = Limits(max_sessions=64, max_lesions=64, max_undo=4)
    fast = GeodesicSegmenter(grid_size=24)  # robustness is the point here, not the masks
    with running_server(ServerSettings(allow_dirs=(folder,), limits=limits), fast) as live, \
            live.client() as client:
        session = upload(client, image)["id"]
        new_lesion(client, session)
        yield {"client": client, "session": session, "image": image}


def _points_inside(image):
    """World points at random continuous indices inside the image."""
    size = np.asarray(image.GetSize(), dtype=float)
    index = st.tuples(*(st.floats(-0.5, float(n) - 0.5) for n in size))
    return index.map(lambda ijk: list(image.TransformContinuousIndexToPhysicalPoint(ijk)))


def point_objects(image):
    point = st.one_of(_points_inside(image), st.lists(json_scalars, max_size=4),
                      st.lists(st.floats(), min_size=3, max_size=3), json_values)
    return st.fixed_dictionaries(
        {"point": point},
        optional={"name": st.sampled_from(["tumor", "background", "lesion", None, ""])
                  | json_scalars,
                  "type": st.sampled_from(["Point", "point"]) | json_scalars,
                  "probability": json_scalars})


def multiple_points(image):
    version = st.fixed_dictionaries({"major": st.sampled_from([1, 0, -1, 1.5]) | json_scalars,
                                     "minor": st.sampled_from([0, 2]) | json_scalars})
    return st.fixed_dictionaries(
        {"type": st.sampled_from(["Multiple points", "Multiple Points"]) | json_scalars,
         "points": st.lists(point_objects(image), max_size=8) | json_values,
         "version": version | json_values},
        optional={"name": json_scalars, "extra": json_values})


def valid_prompts(image):
    """Prompts the server accepts: clicks inside the image, tumour and background."""
    point = st.fixed_dictionaries({"point": _points_inside(image),
                                   "name": st.sampled_from(["tumor", "background"])})
    value = st.fixed_dictionaries({"type": st.just("Multiple points"),
                                   "points": st.lists(point, min_size=1, max_size=7),
                                   "version": st.just({"major": 1, "minor": 0})})
    return st.fixed_dictionaries({"type": st.sampled_from(["clicks", "refine"]), "points": value})


def _mutated(value: dict, data) -> dict:
    """``value`` with one key replaced by random JSON, removed, or one key added, at the top
    level or inside its ``points`` value."""
    out = json.loads(json.dumps(value))
    target = out["points"] if data.draw(st.booleans()) else out
    key = data.draw(st.sampled_from(sorted(target)))
    action = data.draw(st.sampled_from(["replace", "drop", "add"]))
    if action == "replace":
        target[key] = data.draw(json_values)
    elif action == "drop":
        del target[key]
    else:
        target[data.draw(st.text(max_size=6))] = data.draw(json_values)
    return out


def prompts(image):
    kinds = st.sampled_from(["clicks", "refine", "scribble", "outline", "box", ""]) | json_scalars
    shaped = st.fixed_dictionaries({"type": kinds, "points": multiple_points(image) | json_values},
                                   optional={"extra": json_values})
    valid = valid_prompts(image)
    mutated = st.tuples(valid, st.data()).map(lambda vd: _mutated(*vd))
    return valid | mutated | shaped | json_values


def _check(response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400 and response.content:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail


def _send(client, method, path, body, params=None):
    content = json.dumps(body, allow_nan=True).encode()
    return client.request(method, path, content=content, params=params,
                          headers={"Content-Type": "application/json"})


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_prompt_undo_and_reset_sequences_keep_the_lesion_consistent(world, data):
    """Any sequence of prompts (valid, mutated or random), undos and resets: never a 500, and
    the lesion the server lists is the one the last successful step returned."""
    client, session, image = world["client"], world["session"], world["image"]
    lesion = new_lesion(client, session)
    base = f"/sessions/{session}/lesions/{lesion}"
    last = None
    for _ in range(data.draw(st.integers(1, 5))):
        action = data.draw(st.sampled_from(["prompts", "prompts", "undo", "reset"]))
        body = data.draw(prompts(image)) if action == "prompts" else None
        response = _send(client, "POST", f"{base}/{action}", body)
        _check(response)
        if response.status_code == 200:
            last = response.json()
            assert decode_mask(last["mask"]).sum() == last["voxels"]
    listed = client.get(base).json()
    if last is not None:
        assert {k: listed[k] for k in ("step", "voxels", "clicks")} == \
            {k: last[k] for k in ("step", "voxels", "clicks")}
    assert client.delete(base).status_code == 204
    assert client.get("/health").status_code == 200


ids = st.one_of(st.text(max_size=12), st.integers(-3, 10**12).map(str),
                st.sampled_from(["", "1", "0", "-1", "..", "%2e%2e", "1.5", "1e3"]))

ENDPOINTS = [
    ("GET", "/sessions/{s}"), ("DELETE", "/sessions/{r}"), ("GET", "/sessions/{s}/lesions"),
    ("POST", "/sessions/{s}/lesions"), ("GET", "/sessions/{s}/lesions/{l}"),
    ("DELETE", "/sessions/{r}/lesions/{l}"), ("DELETE", "/sessions/{s}/lesions/{x}"),
    ("GET", "/sessions/{s}/lesions/{l}/mask"), ("POST", "/sessions/{s}/lesions/{l}/prompts"),
    ("POST", "/sessions/{s}/lesions/{l}/undo"), ("POST", "/sessions/{s}/lesions/{l}/reset"),
    ("POST", "/sessions/from-path"), ("GET", "/sessions"), ("GET", "/health"),
]


@SETTINGS
@given(endpoint=st.sampled_from(ENDPOINTS), session_real=st.booleans(), session=ids,
       lesion=ids | st.just("1"), body=json_values,
       params=st.dictionaries(st.sampled_from(["format", "filename", "modality", "x"]),
                              st.sampled_from(["json", "mha", "nii.gz", "png", "CT", "MR", ""])
                              | st.text(max_size=8), max_size=3))
def test_random_json_ids_and_queries_at_every_endpoint(world, endpoint, session_real, session,
                                                       lesion, body, params):
    """``{r}`` and ``{x}`` stand for ids that are only ever random, so random deletes do not
    remove the session and lesion the other examples work on."""
    client = world["client"]
    method, template = endpoint
    path = template.format(s=world["session"] if session_real else quote(session, safe=""),
                           r=quote(session, safe="") or "none", l=quote(lesion, safe=""),
                           x=quote(lesion, safe="") if lesion != "1" else "2")
    _check(_send(client, method, path, body, params))


@SETTINGS
@given(path=st.sampled_from(["case.mha", "./case.mha", "../case.mha", "/etc/passwd", "",
                             "case.mha/..", "~/x"]) | st.text(max_size=30),
       series=st.none() | st.text(max_size=10), modality=st.sampled_from([None, "CT", "MR", "PET"]))
def test_random_paths_are_read_only_inside_the_allowed_folder(world, path, series, modality):
    body = {"path": path, "series": series, "modality": modality}
    response = _send(world["client"], "POST", "/sessions/from-path", body)
    _check(response)
    if response.status_code == 201:
        assert response.json()["source"].endswith("case.mha")
        world["client"].delete(f"/sessions/{response.json()['id']}")


@SETTINGS
@given(body=st.binary(max_size=2048) | json_values.map(lambda v: json.dumps(v).encode()),
       filename=st.none() | st.text(max_size=20))
def test_random_bytes_uploaded_as_an_image_are_refused_in_plain_words(world, body, filename):
    params = {"filename": filename} if filename is not None else None
    response = world["client"].post("/sessions", content=body, params=params)
    _check(response)
    assert response.status_code in (400, 422, 429)
