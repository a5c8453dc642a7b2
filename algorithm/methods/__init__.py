"""Segmenters: each turns one model-grid view of a case into a lesion probability map."""

from algorithm.methods.base import GridCase, Segmenter

__all__ = ["GridCase", "Segmenter"]
