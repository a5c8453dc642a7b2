"""Saving from the viewer: masks on the image's own grid, a DICOM SEG that references the series
the image was read from, and the geometry check that guards every prompt."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from napari_lesionseg.prompt_values import PromptError
from napari_lesionseg.reader import get_reader
from napari_lesionseg.saving import check_same_grid, save_mask
from napari_lesionseg.volume import METADATA_KEY, open_volume
from tests.algorithm.dicom import write_ct_series_with_pydicom


def test_a_dicom_series_opens_and_its_mask_saves_as_a_seg(phantom, tmp_path):
    folder = tmp_path / "series"
    write_ct_series_with_pydicom(phantom.image, folder)
    [(data, kwargs, _)] = get_reader(str(folder))(str(folder))
    volume = kwargs["metadata"][METADATA_KEY]
    assert len(volume.dicom_files) == phantom.image.GetDepth() and volume.modality == "CT"
    np.testing.assert_allclose(volume.grid.direction, phantom.image.GetDirection(), atol=1e-5)
    # one file of the series opens the whole series
    [(same, _, _)] = get_reader(str(volume.dicom_files[3]))(str(volume.dicom_files[3]))
    np.testing.assert_array_equal(same, data)

    mask = sitk.GetArrayFromImage(phantom.mask)
    path = save_mask(tmp_path / "lesion.dcm", mask, volume, "network")
    seg = hd.seg.segread(path)
    source_uids = {pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID
                   for f in volume.dicom_files}
    referenced = {item.ReferencedSOPInstanceUID
                  for frame in seg.PerFrameFunctionalGroupsSequence
                  for item in frame.DerivationImageSequence[0].SourceImageSequence}
    assert referenced <= source_uids and referenced
    assert int(seg.pixel_array.sum()) == int(mask.sum())


def test_masks_keep_the_oblique_grid_and_bad_names_are_refused(phantom, phantom_file, tmp_path):
    _, volume = open_volume(phantom_file)
    mask = sitk.GetArrayFromImage(phantom.mask)
    for name in ("lesion.nii.gz", "lesion.mha"):
        back = sitk.ReadImage(str(save_mask(tmp_path / name, mask, volume, "network")))
        np.testing.assert_array_equal(sitk.GetArrayFromImage(back), mask)
        np.testing.assert_allclose(back.GetDirection(), phantom.image.GetDirection(), atol=1e-6)
        np.testing.assert_allclose(back.GetSpacing(), phantom.image.GetSpacing(), atol=1e-6)
    with pytest.raises(PromptError, match="ending in"):
        save_mask(tmp_path / "lesion.png", mask, volume, "network")
    with pytest.raises(PromptError, match="not read from DICOM"):
        save_mask(tmp_path / "lesion.dcm", mask, volume, "network")
    assert not (tmp_path / "lesion.dcm").exists()


def test_a_server_grid_other_than_the_viewers_is_refused(phantom_file):
    _, volume = open_volume(phantom_file)
    grid = {"size": list(volume.grid.size), "spacing": list(volume.grid.spacing),
            "origin": list(volume.grid.origin), "direction": list(volume.grid.direction)}
    check_same_grid(grid, volume)
    shifted = dict(grid, origin=[grid["origin"][0] + 0.5, *grid["origin"][1:]])
    with pytest.raises(PromptError, match="another geometry"):
        check_same_grid(shifted, volume)
