#!/usr/bin/env bash
# The shipped model's recipe (2026.12.03-all-e4): five patient-level folds over the sarcomas,
# nodules and dev lesions (weighted 6:2:2), then all patients; each fine-tunes $INIT, which was
# v3 (2026.12.01-v3all-e16): to reproduce, restore it first with
#   mkdir -p ../v3 && for f in model.safetensors model_card.json; do
#     git show a6c77a0:algorithm/weights/$f > ../v3/$f; done && INIT=../v3 scripts/train_sarcoma_cv.sh
# Resumable: rerun continues where a run stopped.
#   scripts/train_sarcoma_cv.sh [FOLD ...]     (default: 0 1 2 3 4 -1; -1 = all patients)
# Run folders go to $RUNS (default ../runs/stscv, outside the checkout). $TRAIN_ARGS is appended
# to every run's options (a later option overrides an earlier one), e.g. for the multi-prompt recipe:
#   TRAIN_ARGS='--epochs 8 --prompt-kinds clicks scribbles outlines box recist
#     --prompt-kind-weights 3 1 1 1 1' RUNS=../runs/stskinds scripts/train_sarcoma_cv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data}
RUNS=${RUNS:-../runs/stscv}
INIT=${INIT:-algorithm/weights}
for FOLD in "${@:-0 1 2 3 4 -1}"; do
  for f in $FOLD; do
    name=$([[ $f == -1 ]] && echo all || echo "fold$f")
    python -m training.train \
      --manifest "$D/sts-train/manifest.json:6" --manifest "$D/lidc-nodules/manifest.json:2" \
      --manifest "$D/dev-lesions/manifest.json:2" \
      --background "$D/backgrounds/totalseg_abdomen_pelvis_ct.nii.gz" \
      --background "$D/backgrounds/totalseg_abdomen_mr.nii.gz" \
      --background "$D/backgrounds/mni152_t1_1mm.nii.gz" \
      --n-folds 5 --fold "$f" --val-groups sts --init-weights "$INIT" \
      --epochs 4 --steps-per-epoch 40 --lr 3e-4 --synthetic-fraction 0.1 \
      --synthetic-diameter-mm 10 80 --p-refine 0.15 --p-self-refine 0.2 --p-centre 0.1 \
      --threads 2 --out "$RUNS/$name" --resume ${TRAIN_ARGS:-}
  done
done
