#!/usr/bin/env bash
# Write the evaluation image's build context to DIR (absent or empty): the Dockerfile,
# requirements.txt, the evaluation package and the one part of the algorithm package it imports,
# algorithm/__init__.py and algorithm/measurements/ (the measurements both share). Only these
# Python modules go in: no tests, fixtures, scripts, caches or torch code.
#   evaluation/stage_context.sh /tmp/eval-context && docker build -t lesionseg-evaluation /tmp/eval-context
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DIR="${1:?usage: evaluation/stage_context.sh DIR (absent or empty)}"
if [[ -e "$DIR" && -n "$(ls -A "$DIR")" ]]; then
  echo "error: $DIR is not empty; the build context must hold only what the image needs" >&2
  exit 2
fi
mkdir -p "$DIR/evaluation" "$DIR/algorithm/measurements"
cp "$HERE/Dockerfile" "$HERE/requirements.txt" "$DIR/"
cp "$HERE"/*.py "$DIR/evaluation/"
cp "$ROOT/algorithm/__init__.py" "$DIR/algorithm/"
cp "$ROOT/algorithm/measurements/"*.py "$DIR/algorithm/measurements/"
