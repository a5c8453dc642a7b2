"""Minimally interactive 3D lesion segmentation for CT and MRI.

Six clicks (or fewer, plus corrections) on a lesion become a volume of interest and guidance
channels; a compact 3D U-Net, or a weight-free geodesic method, segments the lesion inside it, and
the mask is returned on the input image's exact grid.
"""

__version__ = "0.1.0"
