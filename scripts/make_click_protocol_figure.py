"""Draw the click protocol on a synthetic phantom: ``docs/click_protocol.png``.

Six tumour clicks, two per axis, each about 5 voxels inside the tumour's extreme boundary along
its axis (1 voxel on a thick-slice axis); ``--clicks-on-boundary`` is for clicks placed on the
boundary itself (the hollow circles), which the pipeline first moves to the protocol's depth.
The clicks are the phantom's reference clicks (``algorithm.phantom.reference_clicks``), the ones
the tests and the example case use.

    python scripts/make_click_protocol_figure.py [docs/click_protocol.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import SimpleITK as sitk  # noqa: E402

from algorithm.click_convention import inward_shifts  # noqa: E402
from algorithm.phantom import make_phantom, reference_clicks  # noqa: E402

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
SPACING = np.array([3.0, 0.8, 0.8])  #: (z, y, x) mm: fine in-plane voxels, thick slices
AXIS_NAMES = ("z", "y", "x")


def boundary_point(mask: np.ndarray, click: np.ndarray, axis: int, sign: int) -> np.ndarray:
    """The last tumour voxel reached from ``click`` outward along ``axis`` (sign -1: towards 0)."""
    p = click.astype(int).copy()
    while 0 <= p[axis] + sign < mask.shape[axis] and mask[tuple(p + sign * np.eye(3, dtype=int)[axis])]:
        p[axis] += sign
    return p


def draw_panel(ax, image: np.ndarray, mask: np.ndarray, clicks: np.ndarray, fixed: int,
               index: int) -> None:
    """One slice (``fixed`` axis at ``index``) with the outline, the clicks that lie in it and
    the boundary points they come from, in mm."""
    rows, cols = [a for a in range(3) if a != fixed]
    take = lambda a: np.take(a, index, axis=fixed)  # noqa: E731
    extent = (-0.5 * SPACING[cols], (image.shape[cols] - 0.5) * SPACING[cols],
              (image.shape[rows] - 0.5) * SPACING[rows], -0.5 * SPACING[rows])
    ax.imshow(np.clip(take(image), -160, 240), cmap="gray", extent=extent, interpolation="nearest")
    yy, xx = np.mgrid[0:image.shape[rows], 0:image.shape[cols]]
    ax.contour(xx * SPACING[cols], yy * SPACING[rows], take(mask), levels=[0.5], colors="gold",
               linewidths=1.2)
    for k, click in enumerate(clicks):
        axis, sign = k // 2, (-1 if k % 2 == 0 else 1)
        if axis == fixed or round(click[fixed]) != index:
            continue
        edge = boundary_point(mask, click, axis, sign)
        cy, cx = click[[rows, cols]] * SPACING[[rows, cols]]
        ey, ex = edge[[rows, cols]] * SPACING[[rows, cols]]
        ax.annotate("", xy=(cx, cy), xytext=(ex, ey),
                    arrowprops={"arrowstyle": "->", "color": "white", "lw": 1.0})
        ax.plot(ex, ey, "o", mfc="none", mec="tomato", ms=8, mew=1.5)
        ax.plot(cx, cy, "o", color="lime", ms=6)
        depth = int(round(abs(click[axis] - edge[axis])))
        ax.annotate(f"{depth} voxel{'s' if depth != 1 else ''} ({AXIS_NAMES[axis]})", (cx, cy),
                    textcoords="offset points", xytext=(0, -10) if axis == cols else (6, 6),
                    ha="center" if axis == cols else "left",
                    va="top" if axis == cols else "bottom", color="white", fontsize=8,
                    bbox={"facecolor": "black", "alpha": 0.55, "pad": 1.5, "edgecolor": "none"})
    lo, hi = np.argwhere(take(mask)).min(axis=0), np.argwhere(take(mask)).max(axis=0)
    pad = 12.0
    ax.set_xlim(lo[1] * SPACING[cols] - pad, hi[1] * SPACING[cols] + pad)
    ax.set_ylim(hi[0] * SPACING[rows] + pad, lo[0] * SPACING[rows] - pad)
    ax.set_xlabel(f"{AXIS_NAMES[cols]} (mm)")
    ax.set_ylabel(f"{AXIS_NAMES[rows]} (mm)")


def main(out: Path) -> Path:
    phantom = make_phantom(direction=IDENTITY, spacing_zyx=tuple(SPACING), seed=0)
    image = sitk.GetArrayFromImage(phantom.image).astype(float)
    mask = sitk.GetArrayFromImage(phantom.mask).astype(bool)
    clicks = reference_clicks(mask, SPACING)
    shifts = inward_shifts(SPACING)
    fig, (axial, coronal) = plt.subplots(1, 2, figsize=(10, 4.6))
    in_plane = int(round(np.median(clicks[2:, 0])))  # the y and x clicks' slice
    draw_panel(axial, image, mask, clicks, 0, in_plane)
    axial.set_title(f"axial slice {in_plane}: the x and y pairs, {shifts[1]} voxels inside",
                    fontsize=10)
    through = int(round(clicks[:2, 1].mean()))
    draw_panel(coronal, image, mask, clicks, 1, through)
    coronal.set_title(f"coronal row {through}: the z pair {shifts[0]} voxel inside "
                      f"({SPACING[0]:g} mm slices), the x pair", fontsize=10)
    fig.suptitle("Click protocol: six tumour clicks, two per axis, just inside the extremes "
                 "(filled); on the boundary (hollow) only with --clicks-on-boundary",
                 fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/click_protocol.png")))
