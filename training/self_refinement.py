"""Refinement samples from the network's own mistakes (iterative training, as in RITM).

Synthetic flaws (``training.samples.flawed_prediction``) teach the previous-mask and
corrective-click channels only crudely: a real first prediction errs where the image is
ambiguous (oedema around a tumour core, a vessel touching a nodule), not by a uniform dilation.
Here the current model predicts, a simulated user clicks at its largest error, and the model
predicts again with that mask as the previous one, for 1..``max_corrections`` rounds. The sample
then carries every click and the last prediction, so the network learns to correct the errors it
actually makes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from training.interaction import append_click, corrective_click
from training.samples import GridSample

#: maps an encoded input (C, P, P, P) to the lesion probability (P, P, P)
Predictor = Callable[[np.ndarray], np.ndarray]


def refine_with_model(sample: GridSample, predict: Predictor,
                      encode: Callable[[GridSample], np.ndarray], rng: np.random.Generator,
                      max_corrections: int = 3) -> GridSample:
    """Run 1..``max_corrections`` simulated correction rounds with ``predict``; the returned sample
    has the clicks added and the model's last prediction as its previous mask."""
    if not sample.target.any():
        return sample
    rounds = int(rng.integers(1, max_corrections + 1))
    for _ in range(rounds):
        prediction = predict(encode(sample)) > 0.5
        click = corrective_click(prediction, sample.target, sample.spacing)
        sample.previous = prediction.astype(np.float32)
        if click is None:  # perfect already: learning to keep it is a lesson too
            break
        sample.positive, sample.negative = append_click(sample.positive, sample.negative, click)
    return sample
