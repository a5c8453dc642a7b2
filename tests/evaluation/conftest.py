"""Fixtures of the evaluation tests (builders live in ``helpers.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.evaluation.helpers import PlatformDirs


@pytest.fixture
def platform(tmp_path: Path) -> PlatformDirs:
    """An empty grand-challenge /input, ground-truth and /output layout in tmp_path."""
    return PlatformDirs(tmp_path)
