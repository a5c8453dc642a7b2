"""Layers' drawings as the platform's JSON: every value validates with the server's own schema
(``algorithm.prompts``), and bad drawings are refused in one line before anything is sent."""

from __future__ import annotations

import numpy as np
import pytest

from algorithm.prompts.boxes import parse_boxes
from algorithm.prompts.clicks import parse_clicks
from algorithm.prompts.distances import parse_recist
from algorithm.prompts.lines import parse_scribbles
from algorithm.prompts.polygons import parse_outlines
from napari_lesionseg.prompt_values import (Drawing, PromptError, drawings_prompt,
                                            points_value)

SQUARE = np.array([[0.0, 0.0, 5.0], [10.0, 0.0, 5.0], [10.0, 8.0, 5.0], [0.0, 8.0, 5.0]])


def test_points_value_keeps_labels_and_coordinates():
    value = points_value(np.array([[1.5, -2.0, 3.25], [4.0, 5.0, 6.0]]), ["tumor", "background"])
    clicks = parse_clicks(value)
    np.testing.assert_array_equal(clicks.positive, [[1.5, -2.0, 3.25]])
    np.testing.assert_array_equal(clicks.negative, [[4.0, 5.0, 6.0]])


def test_each_shape_type_is_its_prompt_kind():
    path = Drawing("path", np.array([[0, 0, 5], [3, 1, 5], [3, 1, 5], [6, 2, 5.0]]))
    scribble = drawings_prompt([path, Drawing("path", SQUARE[:2], "background")])
    assert scribble["type"] == "scribbles"
    parsed = parse_scribbles(scribble["lines"])
    assert [s.tumour for s in parsed] == [True, False]
    assert len(parsed[0].paths[0]) == 3  # the repeated vertex of a double click dropped

    outline = drawings_prompt([Drawing("polygon", SQUARE)])
    assert outline["type"] == "outlines"
    np.testing.assert_array_equal(parse_outlines(outline["polygons"])[0].points, SQUARE)

    box = drawings_prompt([Drawing("rectangle", SQUARE)])
    assert box["type"] == "box" and box["box"]["type"] == "2D bounding box"
    np.testing.assert_array_equal(parse_boxes(box["box"])[0].corners, SQUARE)
    two = drawings_prompt([Drawing("rectangle", SQUARE), Drawing("rectangle", SQUARE + 1)])
    assert len(parse_boxes(two["box"])) == 2


def test_recist_long_axis_first_whatever_the_order_drawn():
    short = Drawing("line", np.array([[0.0, 0, 0], [0, 4, 0]]))
    long = Drawing("line", np.array([[-5.0, 2, 0], [5, 2, 0]]))
    axes = parse_recist(drawings_prompt([short, long])["axes"])
    np.testing.assert_array_equal(axes.long, long.points)
    np.testing.assert_array_equal(axes.short, short.points)
    single = drawings_prompt([long])["axes"]
    assert single["type"] == "Distance measurement"


@pytest.mark.parametrize("drawings, message", [
    ([], "nothing drawn"),
    ([Drawing("ellipse", SQUARE)], "ellipse shapes are no prompt"),
    ([Drawing("path", SQUARE[:2]), Drawing("polygon", SQUARE)], "mix scribbles and outlines"),
    ([Drawing("path", SQUARE[[0, 0]])], "at least 2 distinct points"),
    ([Drawing("polygon", SQUARE[:2])], "at least 3 distinct points"),
    ([Drawing("rectangle", SQUARE, "background")], "label it tumor"),
    ([Drawing("line", SQUARE[:2])] * 3, "not 3 lines"),
    ([Drawing("path", SQUARE[:2], "liver")], "neither tumor nor background"),
])
def test_bad_drawings_are_refused_in_one_line(drawings, message):
    with pytest.raises(PromptError, match=message) as caught:
        drawings_prompt(drawings)
    assert "\n" not in str(caught.value)
