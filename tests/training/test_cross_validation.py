"""Each case is scored only by a model that never saw its patient."""

from pathlib import Path

import pytest

from algorithm.network.model_card import ModelCard
from training.cross_validation import assign_fold_models, never_saw
from training.datasets import Case


def _case(case_id: str, patient: str) -> Case:
    return Case(case_id, patient, (Path("i"),), Path("l"))


def _card(trained: list[Case], held_out: list[Case]) -> ModelCard:
    return ModelCard(name="m", version="v", training={
        "cases": [{"case": c.case_id, "patient": c.patient_id} for c in trained],
        "validation_cases": [c.case_id for c in held_out]})


def test_each_case_goes_to_the_fold_that_held_it_out():
    ct1, mr1, ct2, mr2 = (_case("p1_ct", "p1"), _case("p1_mr", "p1"), _case("p2_ct", "p2"),
                          _case("p2_mr", "p2"))
    cards = [_card([ct2, mr2], [ct1, mr1]), _card([ct1, mr1], [ct2, mr2])]
    assert assign_fold_models([ct1, mr1, ct2, mr2], cards) == [0, 0, 1, 1]


def test_a_case_whose_patient_the_model_trained_on_is_refused():
    ct1, mr1, ct2 = _case("p1_ct", "p1"), _case("p1_mr", "p1"), _case("p2_ct", "p2")
    leaky = _card([mr1, ct2], [ct1])  # held out the CT but trained on the same patient's MR
    with pytest.raises(ValueError, match="p1_ct .*no model held it out"):
        assign_fold_models([ct1], [leaky])
    with pytest.raises(ValueError, match="several models"):
        assign_fold_models([ct2], [_card([], [ct2]), _card([], [ct2])])


def test_a_baseline_must_never_have_seen_the_patients():
    ct1, other = _case("p1_ct", "p1"), _case("dev1", "dev")
    assert never_saw(_card([other], []), [ct1])
    assert not never_saw(_card([_case("p1_mr", "p1")], []), [ct1])
