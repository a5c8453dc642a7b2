"""Process boundary shared by both commands: turn failures into one clear last stderr line."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence

from evaluation.errors import EvaluationError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


def one_line(text: str) -> str:
    """Collapse a message to a single line so that it really is the last line on stderr."""
    return " ".join(str(text).split())


def guarded(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """Run ``main``; bad input exits 2, a bug exits 1 (traceback first), each ending in one line."""
    try:
        main(argv)
    except EvaluationError as exc:
        sys.stderr.flush()
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - the platform only shows stderr, so report everything
        traceback.print_exc(file=sys.stderr)
        print(f"error: internal error: {type(exc).__name__}: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_INTERNAL
    return 0
