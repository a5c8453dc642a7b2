"""The prompts a user gives, one module per grand-challenge kind, each validated exactly as the
platform validates it: ``clicks`` ("Multiple points", socket ``lesion-clicks``); ``common`` holds
what the kinds share (the version object, names, one-line errors, reading a prompt file).
"""

from algorithm.prompts.clicks import (
    NEGATIVE_NAMES, POSITIVE_NAMES, Clicks, MultiplePoints, PointObject, Version, parse_clicks,
    read_clicks,
)

__all__ = ["NEGATIVE_NAMES", "POSITIVE_NAMES", "Clicks", "MultiplePoints", "PointObject",
           "Version", "parse_clicks", "read_clicks"]
