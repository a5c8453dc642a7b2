"""Property-based tests of the prompt parsers: whatever JSON, text or bytes arrive, they answer
with clicks or an ``InputError`` of one line, never another exception; valid prompts survive
the round trip through their JSON form."""

import json
import math

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from algorithm.errors import InputError
from algorithm.prompts import Clicks, parse_clicks, read_clicks
from algorithm.slicer_markups import is_slicer_markups, parse_slicer_markups

#: modest counts: the whole file runs in a few seconds
FEW = settings(max_examples=150, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])

KEYS = st.sampled_from(["type", "points", "point", "name", "version", "major", "minor",
                        "probability", "markups", "controlPoints", "position",
                        "coordinateSystem", "coordinateUnits", "label", "description",
                        "positionStatus", "tumor", "background", "LPS", "RAS", "\n", ""])
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-10 ** 400, 10 ** 400)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
           | st.sampled_from(["Multiple points", "Point", "tumor", "background", "Fiducial",
                              "PointList", "LPS", "RAS", "mm", "um", "defined", "undefined"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=5),
                    max_leaves=20)
FINITE = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
POINT = st.lists(FINITE, min_size=3, max_size=3)


def near_miss_multiple_points():
    """Mostly-valid "Multiple points" values with one part replaced by anything."""
    point = st.fixed_dictionaries({"point": POINT | JSON},
                                  optional={"name": st.sampled_from(["tumor", "background"]) | JSON,
                                            "type": st.just("Point") | JSON,
                                            "probability": st.floats(0, 1) | JSON})
    return st.fixed_dictionaries({
        "type": st.just("Multiple points") | JSON,
        "points": st.lists(point | JSON, max_size=4) | JSON,
        "version": st.fixed_dictionaries({"major": st.just(1) | JSON,
                                          "minor": st.just(0) | JSON}) | JSON,
    }, optional={"name": st.text(max_size=5) | JSON, "extra": JSON})


def near_miss_markups():
    """Mostly-valid Slicer markups with any part replaced by anything."""
    control = st.fixed_dictionaries({}, optional={
        "position": POINT | JSON, "label": st.sampled_from(["F-1", "background"]) | JSON,
        "description": JSON, "positionStatus": st.sampled_from(["defined", "preview"]) | JSON})
    markup = st.fixed_dictionaries({"type": st.sampled_from(["Fiducial", "Line"]) | JSON}, optional={
        "coordinateSystem": st.sampled_from(["LPS", "RAS", "XYZ"]) | JSON,
        "coordinateUnits": st.sampled_from(["mm", "um", "cm"]) | JSON,
        "name": st.sampled_from(["F", "background"]) | JSON,
        "controlPoints": st.lists(control | JSON, max_size=3) | JSON})
    return st.fixed_dictionaries({"markups": st.lists(markup | JSON, max_size=3)})


def answers_cleanly(parse, value) -> Clicks | None:
    """``parse(value)``: clicks, or None after an ``InputError`` of one non-empty line."""
    try:
        clicks = parse(value)
    except InputError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and "\r" not in message, repr(message)
        return None
    assert isinstance(clicks, Clicks)
    assert clicks.positive.ndim == 2 and clicks.positive.shape[1] == 3
    assert np.isfinite(clicks.positive).all() and np.isfinite(clicks.negative).all()
    return clicks


@FEW
@given(JSON | near_miss_multiple_points())
@example({"type": "Multiple points", "points": [], "version": {"major": 1, "minor": 0},
          "a\nb": 1})  # the key is in the message: on one line
def test_parse_clicks_never_crashes(value):
    answers_cleanly(parse_clicks, value)


@FEW
@given(near_miss_markups() | JSON.map(lambda v: {"markups": v if isinstance(v, list) else [v]}))
def test_slicer_markups_never_crash(value):
    assert is_slicer_markups(value)
    answers_cleanly(parse_slicer_markups, value)


@FEW
@given(st.binary(max_size=200))
@example(b"\xff\xfe not utf-8")
@example(b"[" * 100_000)  # deeper than Python's recursion limit
@example(b'{"type": "Multiple points", "points": [{"point": [1e999, 0, 0]}], '
         b'"version": {"major": 1, "minor": 0}}')
def test_read_clicks_on_any_bytes(tmp_path, data):
    path = tmp_path / "clicks.json"
    path.write_bytes(data)
    answers_cleanly(read_clicks, path)


@FEW
@given(st.text(max_size=200) | JSON.map(json.dumps) | near_miss_multiple_points().map(json.dumps)
       | near_miss_markups().map(json.dumps))
def test_read_clicks_on_any_text(tmp_path, text):
    path = tmp_path / "clicks.json"
    path.write_text(text, encoding="utf-8")
    answers_cleanly(read_clicks, path)


@FEW
@given(st.lists(POINT, min_size=1, max_size=6), st.lists(POINT, max_size=6))
def test_valid_clicks_round_trip(positive, negative):
    clicks = Clicks.from_points(positive, negative)
    value = json.loads(json.dumps(clicks.to_multiple_points()))
    back = parse_clicks(value)
    np.testing.assert_array_equal(back.positive, clicks.positive)
    np.testing.assert_array_equal(back.negative, clicks.negative)


@FEW
@given(st.lists(st.tuples(POINT, st.booleans()), min_size=1, max_size=6)
       .filter(lambda points: any(not background for _, background in points)),
       st.sampled_from(["LPS", "RAS"]), st.sampled_from(["mm", "um"]))
def test_valid_markups_give_their_points_in_lps_mm(points, system, units):
    document = {"markups": [{
        "type": "Fiducial", "coordinateSystem": system, "coordinateUnits": units,
        "controlPoints": [{"position": p, "label": "background" if bg else f"F-{i}",
                           "positionStatus": "defined"} for i, (p, bg) in enumerate(points)]}]}
    clicks = parse_slicer_markups(json.loads(json.dumps(document)))
    scale = (1.0 if units == "mm" else 1e-3) * np.array(
        [1.0, 1.0, 1.0] if system == "LPS" else [-1.0, -1.0, 1.0])
    want_pos = [np.asarray(p) * scale for p, bg in points if not bg]
    want_neg = [np.asarray(p) * scale for p, bg in points if bg]
    np.testing.assert_allclose(clicks.positive, np.reshape(want_pos, (-1, 3)))
    np.testing.assert_allclose(clicks.negative, np.reshape(want_neg, (-1, 3)))
    assert all(math.isfinite(v) for v in clicks.positive.ravel())
