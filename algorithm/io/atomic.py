"""Writing outputs so that nobody ever reads a partial one.

Each file is written under a hidden temporary name in its final folder and renamed into place:
a crash or a kill mid-write leaves at most a ``.partial-*`` file, never a truncated file under
the final name. ``StagedOutputs`` goes further for a set of files: nothing is renamed until all
are written, and a failure removes what was staged, so a case's output is all there or absent.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import SimpleITK as sitk

from algorithm.errors import InputError

PARTIAL_PREFIX = ".partial-"


def temp_beside(path: Path, suffix: str, what: str = "output") -> Path:
    """A new empty hidden file in ``path``'s folder (made if needed), with the permissions
    the umask gives ordinary files (mkstemp's 0600 would hide outputs from other users).
    ``what`` names the file in the error an unwritable folder gives."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write the {what} to {path.parent}: {exc.strerror}") from None
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)
    return Path(tmp)


def write_image_file(image: sitk.Image, path: Path) -> None:
    sitk.WriteImage(image, str(path), useCompression=True)


def write_json_file(value: object, path: Path) -> None:
    """Strict JSON (the platform reads NaN and infinities as null: so do we, explicitly)."""
    text = json.dumps(_finite_or_none(value), indent=2, allow_nan=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def write_atomic(path: Path, write: Callable[[Path], None], suffix: str,
                 what: str = "output") -> Path:
    """``write(tmp)`` then rename ``tmp`` to ``path``; on failure nothing is left behind."""
    path = Path(path)
    tmp = temp_beside(path, suffix, what)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class StagedOutputs:
    """All or nothing: stage files with ``add``, then ``commit`` renames them into place.

    Leaving the ``with`` block without a commit (an exception) removes every staged file and
    every folder the staging created, so a failed case leaves ``root`` as it found it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._staged: list[tuple[Path, Path]] = []  # (temporary, final)
        self._made_dirs: list[Path] = []
        self._committed = False

    def add(self, relative: str | Path, write: Callable[[Path], None], suffix: str,
            what: str = "output") -> Path:
        final = self.root / relative
        self._note_missing_dirs(final.parent)
        tmp = temp_beside(final, suffix, what)
        self._staged.append((tmp, final))
        write(tmp)
        return final

    def commit(self) -> list[Path]:
        done: list[Path] = []
        try:
            for tmp, final in self._staged:
                os.replace(tmp, final)
                done.append(final)
        except BaseException:
            for final in done:
                final.unlink(missing_ok=True)
            raise
        self._committed = True
        return done

    def __enter__(self) -> "StagedOutputs":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._committed:
            return
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        for folder in sorted(self._made_dirs, key=lambda p: len(p.parts), reverse=True):
            try:
                folder.rmdir()
            except OSError:  # not empty (someone else's file) or already gone
                pass

    def _note_missing_dirs(self, folder: Path) -> None:
        """Folders from ``root`` (inclusive) down to ``folder`` that staging will create."""
        while (not folder.exists() and folder not in self._made_dirs
               and folder.is_relative_to(self.root)):
            self._made_dirs.append(folder)
            folder = folder.parent


def _finite_or_none(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_UMASK = _umask()  #: read once: setting it to read it is not thread-safe (the invoke server)
