"""Which model may score which case: each case by a model that never saw its patient.

A cross-validation gives one model per fold; its card lists the cases it trained on (with their
patients) and the cases it held out. A case is scored by the model that held it out; a model
that trained on none of the case's patient's images (a baseline trained on other data
altogether) may score every case. Anything else is refused: a figure on seen patients would
pass for a held-out one.
"""

from __future__ import annotations

from collections.abc import Sequence

from algorithm.network.model_card import ModelCard
from training.datasets import Case


def trained_patients(card: ModelCard) -> set[str]:
    return {str(c.get("patient") or c["case"]) for c in card.training.get("cases", [])}


def assign_fold_models(cases: Sequence[Case], cards: Sequence[ModelCard]) -> list[int]:
    """For each case, the index of the one fold model that held it out and never trained on its
    patient; ValueError naming the case when none or several do."""
    seen = [trained_patients(card) for card in cards]
    held = [set(card.training.get("validation_cases", [])) for card in cards]
    out = []
    for case in cases:
        fit = [k for k in range(len(cards))
               if case.case_id in held[k] and case.patient_id not in seen[k]]
        if len(fit) != 1:
            which = ("no model held it out without training on its patient" if not fit else
                     "several models held it out: give one model per fold of one "
                     "cross-validation")
            raise ValueError(f"case {case.case_id} (patient {case.patient_id}): {which}")
        out.append(fit[0])
    return out


def never_saw(card: ModelCard, cases: Sequence[Case]) -> bool:
    """True when ``card``'s model trained on none of these cases' patients (a baseline)."""
    return trained_patients(card).isdisjoint(c.patient_id for c in cases)
