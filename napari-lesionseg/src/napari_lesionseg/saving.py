"""Saving what the viewer made: the mask as NIfTI, MHA or DICOM SEG on the image's own grid,
and a finished case into a retraining folder (``algorithm.io.retraining_folder``), with the
writers ``lesionseg segment`` uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from algorithm.io.images import write_mask_atomic
from napari_lesionseg.prompt_values import PromptError
from napari_lesionseg.volume import Volume

#: how far the server's grid may differ from ours (mm, or direction cosine): MHA headers carry
#: full precision, so any visible difference means another image
GRID_TOLERANCE = 1e-4
MASK_SUFFIXES = (".nii.gz", ".nii", ".mha", ".nrrd", ".dcm")


def check_same_grid(server_grid: dict, volume: Volume) -> None:
    """Refuse a session whose image the server read with another geometry than the viewer's:
    every click would land elsewhere than the user put it."""
    ours = volume.grid
    same = (tuple(server_grid["size"]) == tuple(ours.size)
            and all(np.allclose(server_grid[key], getattr(ours, key), atol=GRID_TOLERANCE)
                    for key in ("spacing", "origin", "direction")))
    if not same:
        raise PromptError("the server read the image with another geometry than the viewer "
                          f"(size {server_grid['size']}, spacing {server_grid['spacing']}): "
                          "refusing to send prompts that would land elsewhere")


def save_mask(path: Path, mask: np.ndarray, volume: Volume, method: str) -> Path:
    """Write ``mask`` ((z, y, x), 0/1) on the volume's grid; ``.dcm`` makes a DICOM SEG that
    references the series the volume was read from."""
    path = Path(path)
    name = path.name.lower()
    if not name.endswith(MASK_SUFFIXES):
        raise PromptError(f"choose a file ending in {', '.join(MASK_SUFFIXES)}")
    mask = np.asarray(mask, dtype=np.uint8)
    if name.endswith(".dcm"):
        if not volume.dicom_files:
            raise PromptError("a DICOM SEG references its source series: this image was not "
                              "read from DICOM (save NIfTI or MHA instead)")
        from algorithm.io.dicom_seg import SegAlgorithm, write_dicom_seg

        return write_dicom_seg(mask, volume.grid, volume.dicom_files, path,
                               SegAlgorithm(method=method, model_version=method))
    return write_mask_atomic(mask, volume.grid, path)


def save_case(root: Path, image_zyx: np.ndarray, volume: Volume, mask: np.ndarray,
              prompts: dict, case_id: str | None = None, patient_id: str | None = None) -> str:
    """Append the case (image, final mask, the prompts it was made from, by kind) to a
    retraining folder in nnU-Net's layout (``algorithm.io.retraining_folder``), which
    ``python -m training.train --nnunet`` continues a model on; ``InputError`` when refused."""
    from algorithm.io.retraining_folder import save_case as append_case

    image = volume.grid.place(sitk.GetImageFromArray(np.asarray(image_zyx)))
    return append_case(Path(root), image, np.asarray(mask, dtype=np.uint8), case_id=case_id,
                       patient_id=patient_id, prompts=prompts, source=str(volume.source))


#: a server prompt body's type -> (the prompt kind, the key of its value)
PROMPT_VALUE_KEYS = {"scribbles": ("scribbles", "lines"), "outlines": ("outlines", "polygons"),
                     "box": ("box", "box"), "recist": ("recist", "axes")}


def case_prompts(result: dict, first_prompt: dict | None) -> dict:
    """The prompts a lesion's mask was made from, by kind: the drawings' prompt it started
    from (if any) and every click of its current step."""
    prompts = {}
    if first_prompt is not None and first_prompt.get("type") in PROMPT_VALUE_KEYS:
        kind, key = PROMPT_VALUE_KEYS[first_prompt["type"]]
        prompts[kind] = first_prompt[key]
    clicks = result.get("clicks")
    if clicks and clicks.get("points"):
        prompts["clicks"] = clicks
    return prompts
