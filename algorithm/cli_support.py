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
    except InputError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an environment problem: keep the trace, end with a line
        traceback.print_exc()
        print(f"error: internal error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
