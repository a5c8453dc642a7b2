"""Pair each prediction with its reference mask by name, or through a mapping file.

Default rule: the reference is the mask in the reference folder whose file name without its
extension (.mha, .nii.gz, .nii, .nrrd, .tif, .tiff) equals the prediction's name (on the platform:
the input image's original name) without its extension. A mapping file, a JSON object
``{"<name>": "<reference file name>"}``, overrides the rule for the names it lists. Every
name must find a reference and, unless the caller allows missing ones (scoring a subset
locally), every reference must be matched: anything else is an input error.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import RootModel, ValidationError

from evaluation.errors import EvaluationError
from evaluation.jsonio import read_json
from evaluation.masks import list_masks, strip_mask_suffix

MAPPING_FILE = "mapping.json"


class Mapping(RootModel[dict[str, str]]):
    """Name (e.g. the input image's name) -> reference file name inside the reference folder."""


def listing(names: Iterable[str], limit: int = 5) -> str:
    names = sorted(names)
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def index_references(folder: Path) -> dict[str, Path]:
    """Case identifier (file name without extension) -> reference mask path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvaluationError(f"reference folder {folder} does not exist")
    index: dict[str, Path] = {}
    for path in list_masks(folder):
        case = strip_mask_suffix(path.name)
        if case in index:
            raise EvaluationError(
                f"references {index[case].name} and {path.name} in {folder} "
                f"have the same case name '{case}'"
            )
        index[case] = path
    if not index:
        raise EvaluationError(f"reference folder {folder} contains no mask files")
    return index


def load_mapping(path: Path) -> dict[str, str]:
    try:
        return Mapping.model_validate(read_json(path, "mapping file")).root
    except ValidationError:
        raise EvaluationError(
            f"mapping file {path} must be a JSON object of name -> reference file name (strings)"
        ) from None


def match_references(
    names: Iterable[str],
    references: dict[str, Path],
    mapping: dict[str, str] | None = None,
    allow_missing: bool = False,
) -> dict[str, Path]:
    """Each distinct name -> its reference; errors for extra names, shared references and (unless
    ``allow_missing``) references without a prediction."""
    mapping = mapping or {}
    by_file = {path.name: path for path in references.values()}
    folder = next(iter(references.values())).parent
    matched: dict[str, Path] = {}
    unmatched: list[str] = []
    for name in sorted(set(names)):
        if name in mapping:
            if mapping[name] not in by_file:
                raise EvaluationError(
                    f"mapping file maps {name!r} to {mapping[name]!r}, "
                    f"which is not a mask in {folder}"
                )
            matched[name] = by_file[mapping[name]]
        elif strip_mask_suffix(name) in references:
            matched[name] = references[strip_mask_suffix(name)]
        else:
            unmatched.append(name)
    if unmatched:
        raise EvaluationError(
            f"{len(unmatched)} prediction(s) have no reference in {folder}: {listing(unmatched)}"
        )
    owners: dict[Path, str] = {}
    for name, path in matched.items():
        if path in owners:
            raise EvaluationError(f"{owners[path]!r} and {name!r} both match reference {path.name}")
        owners[path] = name
    missing = unmatched_references(references, matched)
    if missing and not allow_missing:
        raise EvaluationError(
            f"{len(missing)} reference case(s) in {folder} have no prediction: {listing(missing)}"
        )
    return matched


def unmatched_references(references: dict[str, Path], matched: dict[str, Path]) -> list[str]:
    """The reference cases that no prediction matched."""
    used = set(matched.values())
    return [case for case, path in references.items() if path not in used]
