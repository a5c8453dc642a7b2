"""JSON in and out: strict (no NaN/Infinity) and atomic, so no partial metrics.json is left."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from evaluation.errors import EvaluationError


def dumps_strict(data: BaseModel | Any) -> str:
    """Serialise, refusing NaN and Infinity (``allow_nan=False``) and dropping unset optionals."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` then ``os.replace``: readers see all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: BaseModel | Any) -> None:
    write_text_atomic(path, dumps_strict(data))  # serialise first: a NaN fails before any write


def read_json(path: Path, what: str) -> Any:
    """Decode a JSON file; a missing or malformed file is an input error naming ``what``."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"{what} {path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvaluationError(f"{what} {path} is not valid JSON: {exc}") from None
