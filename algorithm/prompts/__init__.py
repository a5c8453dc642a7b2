"""The prompts a user gives, one module per grand-challenge kind, each validated exactly as the
platform validates it and turned into facts about the image (``seeds``).

* ``clicks``: "Multiple points", socket ``lesion-clicks`` (``lesion-clicks.json``);
* ``lines``: "Multiple lines" (scribbles), ``lesion-scribbles``;
* ``polygons``: "Multiple polygons" (outlines of slices), ``lesion-outlines``;
* ``boxes``: "2D bounding box" or "Multiple 2D bounding boxes", ``lesion-box``;
* ``distances``: "Distance measurement" or "Multiple distance measurements" (RECIST axes),
  ``lesion-recist``.

World coordinates are millimetres in LPS. ``prompt_set`` reads a case's prompt files into one
``PromptSet`` (a ``--slice-mask``, read by ``slices``, counts as outlines); ``seeds`` turns it
into ``PromptSeeds`` on the image's own voxel grid, which the pipeline, the guidance and the
training simulator share. ``common`` holds what the kinds share, ``facts`` one kind's
contribution, ``raster`` the exact rasterisation of lines and polygons.
"""

from algorithm.prompts.clicks import (
    NEGATIVE_NAMES, POSITIVE_NAMES, Clicks, MultiplePoints, PointObject, Version, parse_clicks,
    read_clicks,
)

__all__ = ["NEGATIVE_NAMES", "POSITIVE_NAMES", "Clicks", "MultiplePoints", "PointObject",
           "Version", "parse_clicks", "read_clicks"]
