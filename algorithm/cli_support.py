"""How every entry point fails: one clear line, last on stderr, and a non-zero exit code."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from algorithm.errors import InputError

EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 1


def run_guarded(main: Callable[[], int]) -> int:
    try:
        return main()
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return report_failure(exc)


def failure_message(exc: Exception) -> str:
    """The one line that says what went wrong (without the ``error: `` prefix)."""
    if isinstance(exc, InputError):
        return _one_line(exc)
    return f"internal error: {type(exc).__name__}: {_one_line(exc)}"


def report_failure(exc: Exception) -> int:
    """Print ``exc`` as every entry point does (a bug or an environment problem keeps its
    trace), ending stderr with ``error: ...``; returns the exit code it stands for."""
    if not isinstance(exc, InputError):
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    print(f"error: {failure_message(exc)}", file=sys.stderr, flush=True)
    return EXIT_INPUT_ERROR if isinstance(exc, InputError) else EXIT_INTERNAL_ERROR


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def fine_tune_seconds(seconds: float) -> float:
    """``--fine-tune``'s value, checked once for every command that takes it (``serve`` too)."""
    if not seconds >= 0:
        raise InputError("--fine-tune needs a number of seconds, 0 or more")
    return float(seconds)
