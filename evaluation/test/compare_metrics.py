"""Compare a metrics.json against an expected JSON subset with a numeric tolerance.

    python compare_metrics.py EXPECTED ACTUAL [--rtol 1e-6] [--atol 1e-6]

Every value in EXPECTED must be present in ACTUAL (``results`` entries are matched by case and
step, other lists by position). Standard library only, so it runs inside the container or on a
bare host. Prints each difference; exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any


def differences(expected: Any, actual: Any, path: str, rtol: float, atol: float) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{path}.{key}: missing")
            else:
                found += differences(value, actual[key], f"{path}.{key}", rtol, atol)
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        if path.endswith("results"):
            index = {(r.get("case"), r.get("step", 0)): r for r in actual if isinstance(r, dict)}
            found = []
            for item in expected:
                key = (item.get("case"), item.get("step", 0))
                if key not in index:
                    found.append(f"{path}[{key}]: missing")
                else:
                    found += differences(
                        item, index[key], f"{path}[{key[0]} step {key[1]}]", rtol, atol
                    )
            if len(actual) != len(expected):
                found.append(f"{path}: {len(actual)} results, expected {len(expected)}")
            return found
        if len(actual) != len(expected):
            return [f"{path}: {len(actual)} items, expected {len(expected)}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual))
            for d in differences(e, a, f"{path}[{i}]", rtol, atol)
        ]
    if isinstance(expected, bool) or not isinstance(expected, (int, float)):
        return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return [f"{path}: expected a number {expected!r}, got {actual!r}"]
    if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
        return [
            f"{path}: expected {expected!r}, got {actual!r} (difference {actual - expected:.3g})"
        ]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expected")
    parser.add_argument("actual")
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--atol", type=float, default=1e-6)
    args = parser.parse_args(argv)
    with open(args.expected, encoding="utf-8") as handle:
        expected = json.load(handle)
    with open(args.actual, encoding="utf-8") as handle:
        actual = json.load(handle)
    found = differences(expected, actual, "$", args.rtol, args.atol)
    for line in found:
        print(f"MISMATCH {line}")
    print(f"{'FAIL' if found else 'OK'}: {len(found)} difference(s) against {args.expected}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
