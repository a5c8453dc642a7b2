"""Thin I/O at the edges: images in and masks out, and grand-challenge's folder layout."""
