"""The RECIST axes as a grand-challenge "Multiple distance measurements" value, for viewers.

Mirrors the platform's JSON schema (``MDIS`` with ``line-object`` items and a ``version-object``:
``type``, ``lines`` and ``version`` required, no other keys than ``name``; each line needs
``start`` and ``end``, three numbers each, world mm in LPS, and may have a ``name``). An empty
mask gives a valid value with no lines.
"""

from __future__ import annotations

from algorithm.measurements.lesion import LesionMeasurements

KIND = "Multiple distance measurements"
LONG_AXIS_NAME = "RECIST long axis"
SHORT_AXIS_NAME = "RECIST short axis"


def recist_axes_value(measurements: LesionMeasurements) -> dict:
    """The long and the short axis (when measured) as lines the platform's viewer draws."""
    lines = [
        {"name": name, "start": list(axis.start), "end": list(axis.end)}
        for name, axis in (
            (LONG_AXIS_NAME, measurements.long_axis),
            (SHORT_AXIS_NAME, measurements.short_axis),
        )
        if axis is not None
    ]
    return {"type": KIND, "lines": lines, "version": {"major": 1, "minor": 0}}
