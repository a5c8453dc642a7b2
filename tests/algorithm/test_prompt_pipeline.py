"""Seeds from prompts other than clicks through the pipeline: the VOI grows across a box's slice
as the lesion demands, the guidance channels and the clean-up honour the seeds, and a network
trained on clicks alone says so when it gets other kinds."""

import json

import numpy as np
import pytest
from scipy import ndimage

from algorithm.guidance.encoding import encode, gaussian_seed_map
from algorithm.methods.base import GridSeeds
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.methods.prompt_kinds import untrained_kinds_warning
from algorithm.network.model_card import ModelCard
from algorithm.pipeline import segment
from algorithm.postprocessing import postprocess
from algorithm.prompts.boxes import BoundingBox, parse_boxes
from algorithm.prompts.prompt_set import PromptSet
from tests.algorithm.helpers import box_phantom, dice
from tests.algorithm.prompt_support import box_value


class BrightFromSeeds:
    """Test double: the bright region connected to the tumour seeds, whatever the VOI, so that
    the VOI's growth is tested on its own."""

    name = "bright"
    grid_size = 48

    def predict(self, case):
        labels, _ = ndimage.label(case.image > 0.3)
        keep = np.unique(labels[case.seeds.positive])
        return np.isin(labels, keep[keep > 0]).astype(np.float32)


def test_the_voi_grows_across_a_box_slice_as_the_lesion_demands():
    """A lesion 12 times deeper than wide: the box on its middle slice bounds its width only,
    the prior depth (half the width each way) is far too short, and the VOI must grow."""
    image, truth = box_phantom(shape=(64, 40, 40), lo=(4, 14, 14), hi=(60, 26, 26),
                               spacing_xyz=(0.8, 0.8, 2.0))
    prompts = PromptSet(boxes=parse_boxes(box_value(image, truth, k=32)))
    result = segment(image, prompts, BrightFromSeeds())
    assert result.grow_steps >= 2
    assert dice(result.mask, truth) > 0.95
    # in its plane the box bounds the lesion: the mask never leaves the box there
    assert not result.mask[:, :13].any() and not result.mask[:, 27:].any()


class Constant:
    name = "constant"
    grid_size = 32

    def __init__(self, value):
        self.value = value

    def predict(self, case):
        return np.full(case.image.shape, self.value, np.float32)


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_seed_voxels_keep_their_labels_on_the_image_grid(value):
    """Whatever the segmenter says, a box's outside on its slice is background; an all-tumour
    answer is cut to the box there, and an empty one still holds no known background."""
    image, truth = box_phantom()
    k = 12
    corners = [image.TransformContinuousIndexToPhysicalPoint(p) for p in
               [(18.0, 20.0, k), (40.0, 20.0, k), (40.0, 44.0, k), (18.0, 44.0, k)]]
    result = segment(image, PromptSet(boxes=(BoundingBox(np.asarray(corners)),)),
                     Constant(value))
    on_slice = result.mask[k]
    assert not on_slice[:20].any() and not on_slice[45:].any() and not on_slice[:, 41:].any()
    if value == 1.0:
        assert on_slice[20:45, 18:41].all()


def test_postprocess_honours_seeds_and_keeps_anchored_components():
    mask = np.zeros((10, 20, 20), bool)
    mask[2:5, 2:6, 2:6] = True  # a component near the anchor
    mask[6:9, 12:18, 12:18] = True  # one far from any prompt
    tumour = np.zeros_like(mask)
    tumour[3, 10, 10] = True  # a seed outside the mask: set, and kept as its own component
    background = np.zeros_like(mask)
    background[3, 3, 3] = True
    out = postprocess(mask, np.zeros((0, 3)), None, tumour_seeds=tumour,
                      background_seeds=background, anchors=np.array([[3.0, 6.4, 4.0]]))
    assert out[3, 10, 10] and not out[3, 3, 3]
    assert out[2:5, 2:6, 2:6].sum() == mask[2:5, 2:6, 2:6].sum() - 1
    assert not out[6:9, 12:18, 12:18].any()


def test_seeds_reach_the_guidance_channels():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(16, 16, 16)).astype(np.float32)
    tumour = np.zeros(image.shape, bool)
    tumour[8, 4:12, 6] = True
    background = np.zeros(image.shape, bool)
    background[2, :, :] = True
    settings = dict(intensity_weight=10.0, geodesic_scale=0.25, click_sigma=2.0)
    click = np.array([[8.0, 8.0, 8.0]])
    plain = encode(image, click, np.zeros((0, 3)), **settings)
    empty = encode(image, click, np.zeros((0, 3)), **settings,
                   positive_seeds=np.zeros_like(tumour), negative_seeds=np.zeros_like(tumour))
    np.testing.assert_array_equal(plain, empty)
    seeded = encode(image, click, np.zeros((0, 3)), **settings, positive_seeds=tumour,
                    negative_seeds=background)
    channels = dict(zip(("image", "geodesic_positive", "clicks_positive", "clicks_negative",
                         "previous_mask", "geodesic_negative"), seeded))
    assert (channels["geodesic_positive"][tumour] == 1.0).all()
    assert (channels["geodesic_negative"][background] == 1.0).all()
    np.testing.assert_array_equal(channels["clicks_negative"], gaussian_seed_map(background, 2.0))
    np.testing.assert_array_equal(channels["clicks_positive"],
                                  np.maximum(plain[2], gaussian_seed_map(tumour, 2.0)))


def test_the_classical_method_uses_seeds_and_no_background_past_an_unbounded_face():
    from algorithm.methods.base import GridCase

    image = np.full((24, 24, 24), -1.0, np.float32)
    image[4:20, 8:16, 8:16] = 1.0  # a bar along axis 0, longer than the VOI
    seeds = np.zeros(image.shape, bool)
    seeds[12, 11:13, 11:13] = True
    none = np.zeros_like(seeds)
    case = GridCase(image=image, positive=np.zeros((0, 3)), negative=np.zeros((0, 3)),
                    voi_lo=np.array([9.0, 5.0, 5.0]), voi_hi=np.array([15.0, 18.0, 18.0]),
                    seeds=GridSeeds(tumour=seeds, background=none, weak_tumour=none),
                    voi_bounded=np.array([[False, False], [True, True], [True, True]]))
    lesion = GeodesicSegmenter(grid_size=24).predict(case) > 0.5
    assert lesion[12, 11, 11] and lesion[5:19, 10, 10].all()  # past the VOI's axis-0 faces
    assert not lesion[12, 2, 12] and not lesion[12, 21, 12]  # not past its bounded faces


def test_model_cards_list_prompt_kinds_and_untrained_kinds_are_flagged():
    card = ModelCard(name="m", version="1")
    assert card.prompt_kinds == ("clicks",)
    with pytest.raises(ValueError, match="prompt_kinds"):
        ModelCard(name="m", version="1", prompt_kinds=("lasso",))
    assert ModelCard.model_validate(json.loads(card.model_dump_json())).prompt_kinds == ("clicks",)

    class Network:
        prompt_kinds = ("clicks", "box")

    class Average:
        members = [Network(), GeodesicSegmenter()]

    assert untrained_kinds_warning(Average(), ("clicks", "box")) is None
    warning = untrained_kinds_warning(Average(), ("box", "recist"))
    assert "trained on clicks, box prompts only" in warning and "recist" in warning
    assert untrained_kinds_warning(GeodesicSegmenter(), ("recist",)) is None
