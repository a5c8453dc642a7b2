"""Lesion measurements shared by the algorithm's outputs and evaluation/'s scores (one copy).

Volume in ml, the RECIST long and short axis with their end points in world mm and their slice,
the maximum 3D diameter and the number of components. Pure numpy, SciPy, SimpleITK and pydantic
(no torch), so the evaluation image carries this package alone (with ``algorithm/__init__.py``).

    m = measure_lesion(mask_zyx, image)   # LesionMeasurements
    m.model_dump(mode="json")             # the "measurements" part of lesion-measurements
    recist_axes_value(m)                  # lesion-recist-axes, "Multiple distance measurements"
"""

from algorithm.measurements.axial import axial_array_axis
from algorithm.measurements.components import count_components
from algorithm.measurements.diameters import AxialDiameters, axial_diameters, feret_diameters
from algorithm.measurements.lesion import Axis, LesionMeasurements, measure_lesion
from algorithm.measurements.max_diameter import max_3d_diameter_mm
from algorithm.measurements.platform_value import recist_axes_value
from algorithm.measurements.volume import volume_ml

__all__ = [
    "AxialDiameters",
    "axial_array_axis",
    "Axis",
    "LesionMeasurements",
    "axial_diameters",
    "count_components",
    "feret_diameters",
    "max_3d_diameter_mm",
    "measure_lesion",
    "recist_axes_value",
    "volume_ml",
]
