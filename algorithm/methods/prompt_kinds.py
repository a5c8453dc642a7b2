"""Which prompt kinds a segmenter was trained for, and the warning when a case uses others.

A network's model card lists the kinds its weights were trained on (``prompt_kinds``). Every
kind reaches the network through the same guidance channels, so one trained on clicks alone
still runs on a box or an outline, but untrained: its answer may be poor, and the user is told
so beside the mask. The classical method needs no training and serves every kind.
"""

from __future__ import annotations

from algorithm.methods.base import Segmenter


def trained_prompt_kinds(segmenter: Segmenter) -> tuple[str, ...] | None:
    """The kinds the network inside ``segmenter`` (through averages and graph cuts) was
    trained for; None when no network takes part."""
    kinds = getattr(segmenter, "prompt_kinds", None)
    if kinds is not None:
        return tuple(kinds)
    parts = list(getattr(segmenter, "members", [])) + [getattr(segmenter, "inner", None)]
    found = [trained_prompt_kinds(part) for part in parts if part is not None]
    return next((k for k in found if k is not None), None)


def untrained_kinds_warning(segmenter: Segmenter, kinds: tuple[str, ...]) -> str | None:
    """A warning naming the case's prompt kinds the network was not trained for, or None."""
    trained = trained_prompt_kinds(segmenter)
    if trained is None:
        return None
    untrained = [kind for kind in kinds if kind not in trained]
    if not untrained:
        return None
    return (f"the network's weights were trained on {', '.join(trained)} prompts only, so its "
            f"answer to the {', '.join(untrained)} prompt(s) is untrained (the model card's "
            "prompt_kinds): --method classical may do better until weights trained for them "
            "are installed")
