#!/usr/bin/env bash
# Build a Docker image, honouring BASE_IMAGE, and build on the host network where the default
# bridge network is missing (as on the CI machines). Shared by test.sh and export.sh.
# Usage: scripts/build_image.sh TAG CONTEXT LOGFILE
set -euo pipefail
tag=$1 context=$2 log=$3
build_args=(--tag "$tag")
network="${DOCKER_BUILD_NETWORK:-}"
if [[ -z "$network" ]] && ! docker network inspect bridge >/dev/null 2>&1; then network=host; fi
if [[ -n "$network" ]]; then build_args+=(--network "$network"); fi
if [[ -n "${BASE_IMAGE:-}" ]]; then build_args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE"); fi
echo "== building $tag${BASE_IMAGE:+ from $BASE_IMAGE}"
if ! docker build "${build_args[@]}" "$context" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "FAIL: docker build failed (last 60 lines above)" >&2
  exit 1
fi
