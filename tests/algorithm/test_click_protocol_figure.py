"""The README's click-protocol picture is drawn from the protocol's own clicks and depths."""

from __future__ import annotations

import runpy

import numpy as np
import SimpleITK as sitk

from algorithm.click_convention import inward_shifts
from algorithm.phantom import make_phantom, reference_clicks
from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "make_click_protocol_figure.py"


def test_the_figure_is_written_and_its_clicks_lie_at_the_protocol_depth(tmp_path):
    module = runpy.run_path(str(SCRIPT))
    out = module["main"](tmp_path / "protocol.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    spacing = module["SPACING"]
    phantom = make_phantom(direction=module["IDENTITY"], spacing_zyx=tuple(spacing), seed=0)
    mask = sitk.GetArrayFromImage(phantom.mask).astype(bool)
    clicks = reference_clicks(mask, spacing)
    depths = [abs(c[k // 2] - module["boundary_point"](mask, c, k // 2, -1 if k % 2 == 0 else 1)
                  [k // 2]) for k, c in enumerate(clicks)]
    np.testing.assert_array_equal(depths, np.repeat(inward_shifts(spacing), 2))
