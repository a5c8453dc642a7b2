"""The one exception type for problems the user has to fix (bad inputs, not bugs)."""

from __future__ import annotations


class EvaluationError(Exception):
    """Bad input: its message is printed as the last line on stderr and the run exits non-zero."""
