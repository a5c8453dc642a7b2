"""The new prompt kinds' schemas, as grand-challenge validates them (``ANSWER_TYPE_SCHEMA``):
what the platform writes is read, and every bad input is one ``InputError`` line naming its
place. The checks that need the image (outside it, off one slice, crossing) are in
test_prompt_geometry.py."""

import copy
import json

import numpy as np
import pytest

from algorithm.errors import InputError
from algorithm.prompts.boxes import parse_boxes, read_boxes
from algorithm.prompts.distances import parse_recist
from algorithm.prompts.lines import parse_scribbles
from algorithm.prompts.polygons import parse_outlines
from algorithm.prompts.prompt_set import PromptFiles, read_prompt_files

V = {"major": 1, "minor": 0}
SQUARE = [[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 0]]

#: values as the platform writes them (every optional key present somewhere)
SCRIBBLES = {"type": "Multiple lines", "name": "strokes", "version": V, "lines": [
    {"name": "tumor", "type": "Line", "seed_points": [[1, 2, 3], [4, 5, 6]],
     "path_point_lists": [[[1, 2, 3], [2, 3, 4], [4, 5, 6]], [[7, 7, 7], [8, 8, 8]]],
     "probability": 0.9},
    {"name": "background", "seed_points": [], "path_point_lists": [[[0, 0, 0], [0, 1, 0]]]},
    {"seed_points": [], "path_point_lists": [[[5, 5, 5], [6, 6, 6]]]},
]}
OUTLINES = {"type": "Multiple polygons", "name": "outlines", "version": V, "polygons": [
    {"name": "tumor", "type": "Polygon", "seed_point": [0, 0, 0], "path_points": SQUARE,
     "sub_type": "poly", "groups": ["a"], "probability": 0.5},
    {"name": "background", "seed_point": [2, 2, 0], "sub_type": "brush", "groups": [],
     "path_points": [[2, 2, 0], [4, 2, 0], [4, 4, 0], [2, 2, 0]]},
]}
BOX = {"type": "2D bounding box", "name": "box", "corners": SQUARE, "version": V,
       "probability": 0.3}
BOXES = {"type": "Multiple 2D bounding boxes", "name": "boxes", "version": V, "boxes": [
    {"name": "axial", "type": "2D bounding box", "corners": SQUARE, "probability": 0.2},
    {"corners": [[0, 0, 0], [10, 0, 0], [10, 0, 20], [0, 0, 20]]},
]}
LINE = {"type": "Distance measurement", "name": "long", "start": [0, 0, 0], "end": [30, 0, 0],
        "version": V, "probability": 1}
LINES = {"type": "Multiple distance measurements", "name": "RECIST", "version": V, "lines": [
    {"name": "RECIST short axis", "type": "Distance measurement", "start": [15, -8, 0],
     "end": [15, 8, 0], "probability": 0.4},
    {"name": "RECIST long axis", "start": [0, 0, 0], "end": [30, 0, 0]},
]}


def test_platform_values_are_read():
    scribbles = parse_scribbles(SCRIBBLES)
    assert [s.tumour for s in scribbles] == [True, False, True]  # unnamed: tumour
    assert [len(p) for p in scribbles[0].paths] == [3, 2]
    outlines = parse_outlines(OUTLINES)
    assert [o.tumour for o in outlines] == [True, False]
    assert len(outlines[1].points) == 3  # the repeated closing point is dropped
    np.testing.assert_array_equal(parse_boxes(BOX)[0].corners, SQUARE)
    assert len(parse_boxes(BOXES)) == 2
    np.testing.assert_array_equal(parse_recist(LINE).long, [[0, 0, 0], [30, 0, 0]])
    assert parse_recist(LINE).short is None
    axes = parse_recist(LINES)  # the longer line is the long axis, whatever its order or name
    np.testing.assert_array_equal(axes.long, [[0, 0, 0], [30, 0, 0]])
    np.testing.assert_array_equal(axes.short, [[15, -8, 0], [15, 8, 0]])


def edited(value: dict, path: str, new, delete: bool = False) -> dict:
    """A deep copy of ``value`` with the key at dotted ``path`` set to ``new`` (or deleted)."""
    out = copy.deepcopy(value)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if delete:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = new
    else:
        node[last] = new
    return out


BAD = [
    # wrong kind, missing or extra keys, bad version: the schema
    (parse_scribbles, edited(SCRIBBLES, "type", "Multiple points"), "'type'"),
    (parse_scribbles, edited(SCRIBBLES, "type", None, delete=True), "'type'"),
    (parse_scribbles, edited(SCRIBBLES, "version", None, delete=True), "'version'"),
    (parse_scribbles, edited(SCRIBBLES, "colour", "red"), "'colour'"),
    (parse_scribbles, edited(SCRIBBLES, "lines.0.colour", "red"), "'lines.0.colour'"),
    (parse_scribbles, edited(SCRIBBLES, "lines.0.seed_points", None, delete=True),
     "'lines.0.seed_points'"),
    (parse_scribbles, edited(SCRIBBLES, "lines.0.type", "Polygon"), "'lines.0.type'"),
    (parse_scribbles, edited(SCRIBBLES, "version.major", 1.5), "'version.major'"),
    (parse_outlines, edited(OUTLINES, "type", "Multiple lines"), "'type'"),
    (parse_outlines, edited(OUTLINES, "polygons.0.groups", None, delete=True),
     "'polygons.0.groups'"),
    (parse_outlines, edited(OUTLINES, "polygons.0.sub_type", None, delete=True),
     "'polygons.0.sub_type'"),
    (parse_outlines, edited(OUTLINES, "polygons.0.extra", 1), "'polygons.0.extra'"),
    (parse_boxes, edited(BOX, "type", "Multiple points"), "'type'"),
    (parse_boxes, [1, 2], "'<root>'"),
    (parse_boxes, edited(BOX, "corners", SQUARE[:3]), "'corners'"),
    (parse_boxes, edited(BOX, "corners.0", [0, 0]), "'corners.0'"),
    (parse_boxes, edited(BOX, "version", None, delete=True), "'version'"),
    (parse_boxes, edited(BOX, "boxes", []), "'boxes'"),
    (parse_boxes, edited(BOXES, "boxes.1.version", V), "'boxes.1.version'"),
    (parse_boxes, edited(BOXES, "boxes.0.probability", 2), "'boxes.0.probability'"),
    (parse_recist, edited(LINE, "type", "Line"), "'type'"),
    (parse_recist, edited(LINE, "end", None, delete=True), "'end'"),
    (parse_recist, edited(LINE, "end", [1, "a", 2]), "'end.1'"),
    (parse_recist, edited(LINES, "lines.0.version", V), "'lines.0.version'"),
    (parse_recist, edited(LINES, "extra", 1), "'extra'"),
    # the rules
    (parse_scribbles, edited(SCRIBBLES, "lines.0.path_point_lists.1", [[1, 1, 1]]),
     "'lines.0.path_point_lists.1': a line needs at least 2 points, this one has 1"),
    (parse_scribbles, edited(SCRIBBLES, "lines.1.path_point_lists", []),
     "'lines.1.path_point_lists': a line needs a path of at least 2 points"),
    (parse_outlines, edited(OUTLINES, "polygons.0.path_points", SQUARE[:2]),
     "'polygons.0.path_points': a polygon needs at least 3 distinct points, this one has 2"),
    (parse_outlines, edited(OUTLINES, "polygons.0.path_points", [[0, 0, 0], [1, 0, 0],
                                                                 [0, 0, 0]]),
     "at least 3 distinct points, this one has 2"),
    (parse_boxes, edited(BOX, "corners", [[0, 0, 0], [10, 0, 0], [10, 0, 0], [0, 0, 0]]),
     "'corners': the box has zero area"),
    (parse_boxes, edited(BOXES, "boxes.1.corners", [[0, 0, 0], [5, 5, 5], [10, 10, 10],
                                                    [2, 2, 2]]),
     "'boxes.1.corners': the box has zero area"),
    (parse_recist, edited(LINE, "end", [0, 0, 0]), "'<root>': the line has zero length"),
    (parse_recist, edited(LINES, "lines.1.end", [0, 0, 0]), "'lines.1': the line has zero length"),
    (parse_recist, edited(LINES, "lines", []), "(1 or 2 lines), not 0"),
    (parse_recist, edited(LINES, "lines", LINES["lines"] * 2), "(1 or 2 lines), not 4"),
    # names matter for strokes and outlines
    (parse_scribbles, edited(SCRIBBLES, "lines.2.name", "lesion"),
     "'lines.2.name': 'lesion' is neither 'tumor' nor 'background'"),
    (parse_outlines, edited(OUTLINES, "polygons.1.name", "Tumour"),
     "'polygons.1.name': 'Tumour' is neither 'tumor' nor 'background'"),
    # NaN can only come from a decoded file; finite numbers are required as for clicks
    (parse_boxes, edited(BOX, "corners.2", [float("nan"), 0, 0]), "'corners.2'"),
]


@pytest.mark.parametrize("parse, data, fragment", BAD)
def test_bad_input_is_one_line_naming_its_place(parse, data, fragment):
    with pytest.raises(InputError) as info:
        parse(data)
    message = str(info.value)
    assert fragment in message and "\n" not in message, message
    assert message.startswith("invalid "), message


def test_names_do_not_matter_for_boxes_and_recist():
    assert parse_boxes(edited(BOXES, "boxes.0.name", "anything"))
    assert parse_recist(edited(LINES, "lines.0.name", "anything")).short is not None


def test_files_are_read_and_bad_files_refused(tmp_path):
    (tmp_path / "box.json").write_text(json.dumps(BOX))
    assert len(read_boxes(tmp_path / "box.json")) == 1
    (tmp_path / "bad.json").write_text('{"type": "2D bounding box", "corners": [')
    with pytest.raises(InputError, match=r"^box file bad.json is not valid JSON"):
        read_boxes(tmp_path / "bad.json")
    (tmp_path / "nan.json").write_text(json.dumps(BOX).replace("10", "NaN", 1))
    with pytest.raises(InputError, match="not valid JSON: NaN is not allowed"):
        read_boxes(tmp_path / "nan.json")


def test_a_case_needs_a_prompt_and_clicks_beside_others_may_all_be_background(tmp_path):
    with pytest.raises(InputError, match="no prompt given"):
        read_prompt_files(PromptFiles())
    background_only = {"type": "Multiple points", "version": V,
                       "points": [{"point": [1, 2, 3], "name": "background"}]}
    (tmp_path / "clicks.json").write_text(json.dumps(background_only))
    (tmp_path / "box.json").write_text(json.dumps(BOX))
    with pytest.raises(InputError, match="no positive"):
        read_prompt_files(PromptFiles(clicks=tmp_path / "clicks.json"))
    prompts = read_prompt_files(PromptFiles(clicks=tmp_path / "clicks.json",
                                            box=tmp_path / "box.json"))
    assert prompts.kinds == ("clicks", "box") and len(prompts.clicks.negative) == 1
