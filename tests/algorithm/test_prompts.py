import json

import numpy as np
import pytest

from algorithm.errors import InputError
from algorithm.prompts import Clicks, parse_clicks, read_clicks


def value(points, **extra):
    return {"type": "Multiple points", "points": points, "version": {"major": 1, "minor": 0},
            **extra}


def test_positive_and_negative_points_are_split():
    clicks = parse_clicks(value([
        {"point": [1, 2, 3], "name": "tumor"},
        {"point": [4.5, 5, 6], "name": "background"},
        {"point": [7, 8, 9]},  # unnamed points count as tumour clicks
    ]))
    np.testing.assert_array_equal(clicks.positive, [[1, 2, 3], [7, 8, 9]])
    np.testing.assert_array_equal(clicks.negative, [[4.5, 5, 6]])


def test_platform_optional_keys_are_accepted():
    clicks = parse_clicks(value([{"point": [1, 2, 3], "name": "tumor", "type": "Point",
                                  "probability": 0.5}], name="six clicks"))
    assert clicks.positive.shape == (1, 3)


def test_round_trip_through_platform_format():
    original = Clicks.from_points([[1.5, 2, 3]], [[0, 0, 1]])
    again = parse_clicks(json.loads(json.dumps(original.to_multiple_points())))
    np.testing.assert_array_equal(again.positive, original.positive)
    np.testing.assert_array_equal(again.negative, original.negative)


@pytest.mark.parametrize("data, fragment", [
    ({"points": [{"point": [1, 2, 3]}], "version": {"major": 1, "minor": 0}}, "type"),
    (value([{"point": [1, 2, 3]}]) | {"type": "Multiple point"}, "type"),
    (value([{"point": [1, 2, 3]}]) | {"type": "Point"}, "type"),
    ({"type": "Multiple points", "points": [{"point": [1, 2, 3]}]}, "version"),
    (value([{"point": [1, 2, 3]}]) | {"version": {"major": 1}}, "version.minor"),
    (value([{"point": [1, 2, 3]}]) | {"version": {"major": -1, "minor": 0}}, "version.major"),
    (value([{"point": [1, 2, 3]}]) | {"version": {"major": 1.5, "minor": 0}}, "version.major"),
    (value([{"point": [1, 2, 3]}]) | {"version": {"major": 1, "minor": 0, "patch": 1}},
     "version.patch"),
    (value([{"point": [1, 2, 3]}], extra_key=1), "extra_key"),
    (value([{"point": [1, 2, 3], "colour": "red"}]), "points.0.colour"),
    (value([{"point": [1, 2]}]), "points.0.point"),
    (value([{"point": [1, 2, 3, 4]}]), "points.0.point"),
    (value([{"point": ["a", 2, 3]}]), "points.0.point"),
    (value([{"point": [float("nan"), 2, 3]}]), "points.0.point"),
    (value([{"point": [1, 2, 3], "probability": 2}]), "points.0.probability"),
    (value([{"point": [1, 2, 3], "name": "lesion"}]), "points.0.name"),
    ([1, 2, 3], "<root>"),
])
def test_schema_violations_are_rejected_with_location(data, fragment):
    with pytest.raises(InputError, match="clicks JSON") as info:
        parse_clicks(data)
    assert fragment in str(info.value)


def test_no_positive_click_is_rejected():
    with pytest.raises(InputError, match="no positive"):
        parse_clicks(value([{"point": [1, 2, 3], "name": "background"}]))
    with pytest.raises(InputError, match="no positive"):
        parse_clicks(value([]))


def test_malformed_json_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"type": "Multiple points", "points": [')
    with pytest.raises(InputError, match="not valid JSON"):
        read_clicks(path)
    path.write_text('{"type": "Multiple points", "points": [{"point": [NaN, 1, 2]}], '
                    '"version": {"major": 1, "minor": 0}}')
    with pytest.raises(InputError, match="not valid JSON"):
        read_clicks(path)
    with pytest.raises(InputError, match="cannot read"):
        read_clicks(tmp_path / "missing.json")
