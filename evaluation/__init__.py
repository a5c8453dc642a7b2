"""Scoring of lesion segmentations: grand-challenge.org evaluation container and local CLI.

``python -m evaluation`` is the platform entry point; ``python -m evaluation.local`` scores and
compares methods on folders of masks. The metric functions are pure functions of numpy arrays and
physical spacing (mm, in array axis order) so they can be tested against analytic shapes.
"""

__version__ = "0.1.0"
