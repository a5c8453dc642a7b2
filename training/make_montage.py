"""Draw synthetic lesions in real backgrounds and save a montage for a visual plausibility check.

    python -m training.make_montage --data /work/shared/data \
        --out docs/synthetic_lesions_montage.png

Each sample is shown twice side by side, plain and with the mask contour (red), on the axial
slice through the lesion centre: CT in a soft-tissue window (W400/L40), MR between the 1st and
99.5th percentile of the body. Backgrounds: the HU thorax CTs of the dev-lesions manifest (away
from their real lesions) and the MNI152 T1 template and BraTS T1c/FLAIR for MR.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from training.datasets import load_case_arrays, read_manifest
from training.synthesis import body_mask, insert_lesion

CT_BACKGROUNDS = ("nsclc_LUNG1-001", "pyrad_lung2", "pyrad_lung1", "radphantom_pat_1",
                  "radphantom_pat_4")
MR_BACKGROUNDS = ("mni152", "brats15_brats_2013_pat0002_1:t1c",
                  "brats15_brats_2013_pat0004_1:flair", "pyrad_brain1")


def _load_backgrounds(data: Path) -> list[dict]:
    """[{name, image, spacing, modality, avoid, body}] for the backgrounds that exist under data."""
    out = []
    manifest = data / "dev-lesions" / "manifest.json"
    cases = {c.case_id: c for c in read_manifest(manifest)} if manifest.exists() else {}
    for key in CT_BACKGROUNDS + MR_BACKGROUNDS:
        name, _, channel = key.partition(":")
        if name == "mni152":
            path = data / "backgrounds" / "mni152_t1_1mm.nii.gz"
            if not path.exists():
                continue
            import SimpleITK as sitk

            img = sitk.ReadImage(str(path))
            image = sitk.GetArrayFromImage(img)
            spacing = tuple(reversed(img.GetSpacing()))
            avoid, modality = None, "MR"
        elif name in cases:
            case = cases[name]
            stack, avoid, spacing = load_case_arrays(case)
            ch = case.channel_names.index(channel) if channel else 0
            image, modality = stack[ch], case.modality
            if modality == "CT":
                image = image.astype(np.int16)
        else:
            continue
        out.append({"name": key, "image": image, "spacing": np.asarray(spacing, float),
                    "modality": modality, "avoid": avoid, "body": body_mask(image, modality)})
    return out


def _panel(image: np.ndarray, mask: np.ndarray, spacing: np.ndarray, modality: str,
           body: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float], list[float]]:
    """Axial slice through the lesion centre, cropped: (slice, mask slice, window, extent)."""
    coords = np.argwhere(mask)
    zc = int(round(coords[:, 0].mean()))
    sl = mask[zc]
    yx = np.argwhere(sl) if sl.any() else coords[:, 1:]
    centre = yx.mean(0)
    size_mm = max(50.0, 3.0 * float((yx.max(0) - yx.min(0) + 1).max() * spacing[1:].max()))
    half = np.ceil(size_mm / 2 / spacing[1:]).astype(int)
    lo = np.maximum(np.round(centre).astype(int) - half, 0)
    hi = np.minimum(lo + 2 * half, image.shape[1:])
    crop = (slice(lo[0], hi[0]), slice(lo[1], hi[1]))
    if modality == "CT":
        window = (40 - 200.0, 40 + 200.0)
    else:
        vals = image[body]
        window = tuple(np.percentile(vals, [1, 99.5]))
    extent = [0, (hi[1] - lo[1]) * spacing[2], (hi[0] - lo[0]) * spacing[1], 0]
    return image[zc][crop], mask[zc][crop], window, extent  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, default=Path("docs/synthetic_lesions_montage.png"))
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dpi", type=int, default=72)
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backgrounds = _load_backgrounds(args.data)
    if not backgrounds:
        raise SystemExit(f"no backgrounds found under {args.data}")
    ct = [b for b in backgrounds if b["modality"] == "CT"]
    mr = [b for b in backgrounds if b["modality"] == "MR"]
    # CT is the priority (soft-tissue HU data is what the dev set lacks): about 5/8 of the panels
    n_ct = 0 if not ct else args.n if not mr else (args.n * 5 + 4) // 8
    order = [ct[i % len(ct)] for i in range(n_ct)]
    order += [mr[i % len(mr)] for i in range(args.n - n_ct)]
    rng = np.random.default_rng(args.seed)
    cols = 4
    rows = int(np.ceil(len(order) / cols))
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(2 * cols * 2.0, rows * 2.35))
    for ax in axes.ravel():
        ax.axis("off")
    for i, bgd in enumerate(order):
        res = insert_lesion(bgd["image"], bgd["spacing"], bgd["modality"], rng,
                            avoid_mask=bgd["avoid"], body=bgd["body"])
        sl, msl, window, extent = _panel(res.image, res.mask, bgd["spacing"], bgd["modality"],
                                         bgd["body"])
        p = res.params
        if bgd["modality"] == "CT":
            what = f"{p['lesion_hu']:.0f} HU vs {p['local_hu']:.0f}"
        else:
            what = f"contrast {p['contrast_rel']:+.2f}"
        extras = "".join(t for t, k in ((" nec", "necrosis"), (" rim", "rim_mm"), (" sep", "septa"))
                         if p.get(k))
        r, c = divmod(i, cols)
        for j in range(2):
            ax = axes[r, 2 * c + j]
            ax.imshow(sl, cmap="gray", vmin=window[0], vmax=window[1], extent=extent,
                      interpolation="nearest")
            if j == 1:
                ys = (np.arange(msl.shape[0]) + 0.5) * bgd["spacing"][1]
                xs = (np.arange(msl.shape[1]) + 0.5) * bgd["spacing"][2]
                if msl.any():
                    ax.contour(xs, ys, msl.astype(float), levels=[0.5], colors="r", linewidths=0.6)
            ax.axis("off")
        axes[r, 2 * c].set_title(f"{bgd['name'].split(':')[0][:18]} {p['diameter_mm']:.0f}mm",
                                 fontsize=6, loc="left")
        axes[r, 2 * c + 1].set_title(f"{what}{extras}", fontsize=6, loc="left")
    fig.suptitle("Synthetic lesions in real backgrounds (each: plain | mask contour). "
                 "CT W400/L40, MR 1-99.5 percentile; titles: background, diameter | lesion vs "
                 "local HU or MR contrast, necrosis/rim/septa", fontsize=8)
    fig.tight_layout(pad=0.3, h_pad=1.0, w_pad=0.2, rect=(0, 0, 1, 0.97))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)
    print(f"saved {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
