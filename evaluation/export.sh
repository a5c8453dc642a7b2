#!/usr/bin/env bash
# Build the evaluation image and save it as a gzipped tarball for upload to grand-challenge.org.
#   BASE_IMAGE=local/pytorch:cpu evaluation/export.sh [OUTPUT.tar.gz]
# Default output: lesionseg-evaluation.tar.gz in the current folder. Env as for build.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export IMAGE="${IMAGE:-lesionseg-evaluation:latest}"
OUTPUT="${1:-lesionseg-evaluation.tar.gz}"
"$HERE/build.sh"
docker save "$IMAGE" | gzip -c > "$OUTPUT"
echo "exported $IMAGE to $OUTPUT ($(du -h "$OUTPUT" | cut -f1))"
