"""Optional group table (CSV with a ``case`` column plus e.g. modality, phenotype)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from evaluation.errors import EvaluationError

CASE_COLUMN = "case"
GROUPS_FILE = "groups.csv"
BLANK = "unspecified"


def load_groups(path: Path, columns: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
    """case -> {column: value} for the chosen columns (default: every column but ``case``)."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"group table {path} does not exist")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = [
                {(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EvaluationError(f"group table {path} cannot be read: {exc}") from None
    if CASE_COLUMN not in header:
        raise EvaluationError(
            f"group table {path} has no '{CASE_COLUMN}' column (header: {header})"
        )
    chosen = list(columns) if columns else [h for h in header if h and h != CASE_COLUMN]
    unknown = [c for c in chosen if c not in header]
    if unknown:
        raise EvaluationError(f"group table {path} has no column(s) {unknown} (header: {header})")
    table: dict[str, dict[str, str]] = {}
    for row in rows:
        case = row.get(CASE_COLUMN, "")
        if not case:
            continue
        if case in table:
            raise EvaluationError(f"group table {path} lists case '{case}' twice")
        table[case] = {c: row.get(c) or BLANK for c in chosen}
    return table


def require_cases(table: dict[str, dict[str, str]], cases: Iterable[str], source: Path) -> None:
    """Every scored case needs a row; rows for other cases are ignored."""
    missing = sorted(set(cases) - table.keys())
    if missing:
        shown = ", ".join(repr(c) for c in missing[:5])
        raise EvaluationError(
            f"group table {source} has no row for {len(missing)} case(s): {shown}"
        )
