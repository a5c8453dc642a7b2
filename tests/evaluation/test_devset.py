"""Dev-set preparation: label binarisation, group table and the synthetic degradations."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from evaluation.devset import bbox_ellipsoid, dilate1, erode1, modality_group, prepare
from evaluation.masks import read_mask
from tests.evaluation.helpers import write_mask


def test_degradations_on_a_box() -> None:
    box = np.zeros((7, 9, 11), bool)
    box[2:5, 2:7, 2:9] = True  # 3 x 5 x 7
    assert dilate1(box).sum() == 105 + 2 * (15 + 21 + 35)  # one face layer on each of 6 sides
    assert erode1(box).sum() == 1 * 3 * 5
    ellipsoid = bbox_ellipsoid(box)
    assert ellipsoid[3, 4, 5] and not ellipsoid[2, 2, 2]  # centre in, corner out
    assert ellipsoid[box].sum() == ellipsoid.sum()  # inscribed: inside the box
    spans = [
        np.flatnonzero(ellipsoid.any(axis=tuple(b for b in range(3) if b != a))) for a in range(3)
    ]
    assert [list(span) for span in spans] == [[2, 3, 4], [2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 7, 8]]
    assert not bbox_ellipsoid(np.zeros_like(box)).any()


def test_prepare_binarises_listed_labels_and_writes_groups(tmp_path: Path) -> None:
    labels = np.zeros((4, 6, 6), np.uint8)
    labels[1, 1:3, 1:3] = 1
    labels[2, 1:3, 1:3] = 4
    labels[3, 4, 4] = 7  # not a lesion label
    write_mask(tmp_path / "dev" / "brats_x" / "label.nii.gz", labels, spacing_xyz=(1.0, 1.0, 2.0))
    manifest = [
        {
            "case": "brats_x",
            "modality": "MR (T1c)",
            "region": "brain",
            "label": "label.nii.gz",
            "lesion_labels": [1, 2, 3, 4],
            "licence": "ignored extra key",
        }
    ]
    (tmp_path / "dev" / "manifest.json").write_text(json.dumps(manifest))
    prepare(tmp_path / "dev", tmp_path / "out", ["dilate1"])
    reference = read_mask(tmp_path / "out" / "references" / "brats_x.mha")
    assert reference.array.sum() == 8 and not reference.array[3, 4, 4]
    assert reference.geometry.spacing_zyx == (2.0, 1.0, 1.0)
    assert read_mask(tmp_path / "out" / "dilate1" / "brats_x.mha").array.sum() > 8
    rows = list(csv.DictReader((tmp_path / "out" / "groups.csv").open(encoding="utf-8")))
    assert rows == [{"case": "brats_x", "modality": "MR", "dataset": "brats", "region": "brain"}]
    assert modality_group("CT (uint8, pre-windowed)") == "CT"
