"""What every prompt kind shares: the platform's version object, world points, tumour/background
names, and how a file or a schema violation becomes one line for the user.

Every kind's schema mirrors grand-challenge's own JSON schema (``ANSWER_TYPE_SCHEMA`` in
comic/grand-challenge.org, ``app/grandchallenge/core/validators.py`` and its interface-kind
copies): the same required keys, the exact ``type`` strings, no extra keys. Coordinates are
world millimetres in LPS, as DICOM, ITK and grand-challenge use.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from algorithm.errors import InputError

POSITIVE_NAMES = frozenset({"tumor"})
NEGATIVE_NAMES = frozenset({"background"})

_NonNegativeInt = Annotated[float, Field(ge=0, multiple_of=1.0)]


class Version(BaseModel):
    """``version-object``: ``major`` and ``minor``, non-negative whole numbers, nothing else."""

    model_config = ConfigDict(extra="forbid", strict=False)
    major: _NonNegativeInt
    minor: _NonNegativeInt


class PlatformModel(BaseModel):
    """A platform JSON object: unknown keys are refused, as the schema's
    ``additionalProperties: false`` does."""

    model_config = ConfigDict(extra="forbid")


def _finite(value: list[float]) -> list[float]:
    if not all(math.isfinite(v) for v in value):
        raise ValueError("coordinates must be finite numbers (no NaN or Infinity)")
    return value


#: one world point, x, y, z in mm (the schema's three-number array)
WorldPoint = Annotated[list[float], Field(min_length=3, max_length=3), AfterValidator(_finite)]
#: a probability, as every object kind may carry one (read and ignored)
Probability = Annotated[float, Field(ge=0, le=1)]


def is_tumour(name: str | None, where: str, what: str) -> bool:
    """``tumor`` (or no name) is tumour, ``background`` is background, anything else is refused
    rather than guessed."""
    if name is None or name in POSITIVE_NAMES:
        return True
    if name in NEGATIVE_NAMES:
        return False
    raise InputError(f"invalid {what} JSON at '{where}.name': {name!r} is neither "
                     "'tumor' nor 'background'")


def validate(model: type[BaseModel], data: object, what: str) -> BaseModel:
    """``model`` validated from ``data``, or an ``InputError`` naming the first violation's place
    (``invalid box JSON at 'boxes.0.corners': ...``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_message(exc, what)) from None


def validate_kind(data: object, models: dict[str, type[BaseModel]], what: str) -> BaseModel:
    """For a socket that takes one of several kinds: the model its ``type`` names, validated; a
    missing or other ``type`` is refused naming the kinds it may be."""
    expected = " or ".join(f"'{kind}'" for kind in models)
    if isinstance(data, tuple(models.values())):  # validated already (a server's request body)
        return data
    if not isinstance(data, dict) or "type" not in data:
        where = "type" if isinstance(data, dict) else "<root>"
        raise InputError(f"invalid {what} JSON at '{where}': a {expected} object is needed")
    model = models.get(data["type"]) if isinstance(data["type"], str) else None
    if model is None:
        shown = one_line(data["type"]) if isinstance(data["type"], str) else data["type"]
        raise InputError(f"invalid {what} JSON at 'type': expected {expected}, got {shown!r}")
    return validate(model, data, what)


def validation_message(exc: ValidationError, what: str) -> str:
    first = exc.errors()[0]
    where = ".".join(one_line(p) for p in first["loc"]) or "<root>"
    return f"invalid {what} JSON at '{where}': {first['msg']}"


def read_json_file(path: Path, what: str) -> object:
    """The decoded JSON of a prompt file, or one line that says why it cannot be read
    (unreadable, not UTF-8, not JSON, NaN or Infinity, nested too deeply)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what} file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} file {Path(path).name} is not UTF-8 text, so not the JSON "
                         "that is needed") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise InputError(f"{what} file {Path(path).name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} file {Path(path).name} is not valid {what} JSON: it is nested "
                         "too deeply") from None


def one_line(key: object) -> str:
    """A key from the input as an error shows it: control characters escaped, one line."""
    return json.dumps(key, ensure_ascii=False)[1:-1] if isinstance(key, str) else str(key)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in JSON")
