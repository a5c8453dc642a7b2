"""Property-based tests of the new prompt kinds: whatever JSON arrives, each parser answers with
its prompt or an ``InputError`` of one line; and whatever valid prompt is drawn on an oblique,
anisotropic image, its seeds are distinct voxels inside the image, tumour and background never
overlap, or the prompt is refused in one line."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algorithm.errors import InputError
from algorithm.prompts.boxes import BoundingBox, parse_boxes
from algorithm.prompts.distances import RecistAxes, parse_recist
from algorithm.prompts.lines import Scribble, parse_scribbles
from algorithm.prompts.polygons import Outline, parse_outlines
from algorithm.prompts.prompt_set import PromptSet
from algorithm.prompts.seeds import prompt_seeds
from tests.algorithm.helpers import OBLIQUE_FLIPPED, make_image
from tests.algorithm.test_prompt_properties import JSON

FEW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
V = {"major": 1, "minor": 0}
FINITE = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
POINT = st.lists(FINITE, min_size=3, max_size=3)
NAME = st.sampled_from(["tumor", "background"]) | JSON


def near_miss(kind: str, key: str, item) -> st.SearchStrategy:
    return st.fixed_dictionaries({"type": st.just(kind) | JSON,
                                  key: st.lists(item | JSON, max_size=3) | JSON,
                                  "version": st.just(V) | JSON},
                                 optional={"name": JSON, "extra": JSON})


SPLINE = st.fixed_dictionaries({"seed_points": st.lists(POINT, max_size=2) | JSON,
                                "path_point_lists": st.lists(st.lists(POINT, max_size=4),
                                                             max_size=2) | JSON},
                               optional={"name": NAME, "type": st.just("Line") | JSON})
POLYGON = st.fixed_dictionaries({"seed_point": POINT | JSON,
                                 "path_points": st.lists(POINT, max_size=5) | JSON,
                                 "sub_type": st.just("poly") | JSON,
                                 "groups": st.just([]) | JSON}, optional={"name": NAME})
BOX = st.fixed_dictionaries({"corners": st.lists(POINT, min_size=4, max_size=4) | JSON})
LINE = st.fixed_dictionaries({"start": POINT | JSON, "end": POINT | JSON})
PARSERS = [
    (parse_scribbles, near_miss("Multiple lines", "lines", SPLINE)),
    (parse_outlines, near_miss("Multiple polygons", "polygons", POLYGON)),
    (parse_boxes, near_miss("Multiple 2D bounding boxes", "boxes", BOX)),
    (parse_recist, near_miss("Multiple distance measurements", "lines", LINE)),
]


def one_line_or_value(parse, value):
    try:
        return parse(value)
    except InputError as exc:
        assert str(exc).strip() and "\n" not in str(exc) and "\r" not in str(exc), repr(str(exc))
        return None


@FEW
@given(st.sampled_from(range(len(PARSERS))).flatmap(
    lambda i: st.tuples(st.just(i), JSON | PARSERS[i][1])))
def test_the_parsers_never_crash(drawn):
    index, value = drawn
    one_line_or_value(PARSERS[index][0], value)


IMAGE = make_image(np.zeros((8, 24, 20), np.int16), spacing_xyz=(0.7, 0.9, 3.0),
                   direction=OBLIQUE_FLIPPED)
INDEX = st.tuples(st.floats(-0.5, 7.5), st.floats(-0.5, 23.5), st.floats(-0.5, 19.5))


def world(points):
    return np.array([IMAGE.TransformContinuousIndexToPhysicalPoint([p[2], p[1], p[0]])
                     for p in points])


def on_a_slice(points, number):
    """The points moved onto slice ``number``, some up to 0.24 voxel off it (allowed)."""
    return [(number + dz * 0.6, y, x) for dz, (_, y, x) in zip([0, 0.4, -0.4, 0.3, 0], points)]


PROMPTS = st.one_of(
    st.lists(INDEX, min_size=2, max_size=5).map(
        lambda p: PromptSet(scribbles=(Scribble((world(p),), True),))),
    st.tuples(st.lists(INDEX, min_size=3, max_size=5), st.integers(0, 7)).map(
        lambda d: PromptSet(outlines=(Outline(world(on_a_slice(*d)), True),))),
    st.tuples(st.lists(INDEX, min_size=4, max_size=4), st.integers(0, 7)).map(
        lambda d: PromptSet(boxes=(BoundingBox(world(on_a_slice(*d))),))),
    st.tuples(st.lists(INDEX, min_size=2, max_size=2), st.integers(0, 7)).map(
        lambda d: PromptSet(recist=RecistAxes(world(on_a_slice(*d))))),
)


@FEW
@given(PROMPTS)
def test_seeds_are_voxels_inside_the_image_or_the_prompt_is_refused(prompts):
    try:
        seeds = prompt_seeds(IMAGE, prompts)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    shape = np.array(seeds.shape)
    for voxels in (seeds.tumour, seeds.background, seeds.weak_tumour):
        assert voxels.dtype == np.int64 and ((voxels >= 0) & (voxels < shape)).all()
        assert len(np.unique(voxels, axis=0)) == len(voxels)
    flat = [set(np.ravel_multi_index(tuple(v.T), seeds.shape)) for v in
            (seeds.tumour, seeds.background, seeds.weak_tumour)]
    assert not flat[0] & flat[1] and not flat[2] & (flat[0] | flat[1])
    assert (seeds.extent.lo <= seeds.extent.hi).all()
    assert (seeds.extent.lo >= -0.5).all() and (seeds.extent.hi <= shape - 0.5).all()
