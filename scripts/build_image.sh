#!/usr/bin/env bash
# Build a Docker image, honouring BASE_IMAGE, and build on the host network where the default
# bridge network is missing (as on the CI machines). Shared by test.sh and export.sh.
# Usage: scripts/build_image.sh TAG CONTEXT LOGFILE [CALLER] [TARGET]
#   CALLER: named in the hint; TARGET: the Dockerfile stage to build (default: the last one)
set -euo pipefail
tag=$1 context=$2 log=$3 caller=${4:-./export.sh} target=${5:-}
build_args=(--tag "$tag")
if [[ -n "$target" ]]; then build_args+=(--target "$target"); fi
network="${DOCKER_BUILD_NETWORK:-}"
if [[ -z "$network" ]] && ! docker network inspect bridge >/dev/null 2>&1; then network=host; fi
if [[ -n "$network" ]]; then build_args+=(--network "$network"); fi
if [[ -n "${BASE_IMAGE:-}" ]]; then build_args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE"); fi
echo "== building $tag${target:+ (stage $target)}${BASE_IMAGE:+ from $BASE_IMAGE}"
if ! docker build "${build_args[@]}" "$context" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  # Without a reachable registry the base image cannot be pulled: say how to build without one.
  pull_error='pull access denied|failed to resolve source metadata|failed to do request|no such host|dial tcp|i/o timeout|TLS handshake timeout|connection refused|toomanyrequests|manifest unknown'
  if [[ -z "${BASE_IMAGE:-}" ]] && grep -qiE "$pull_error" "$log"; then
    echo "FAIL: docker build failed: the base image could not be pulled (no registry reachable?); build on a local stand-in: BASE_IMAGE=local/pytorch:cpu $caller (make it with ../shared/docker/make-base-image.sh)" >&2
  elif [[ -z "${BASE_IMAGE:-}" ]]; then
    echo "FAIL: docker build failed (last 60 lines above); if no registry is reachable, build on a local stand-in: BASE_IMAGE=local/pytorch:cpu $caller" >&2
  else
    echo "FAIL: docker build from BASE_IMAGE=$BASE_IMAGE failed (last 60 lines above)" >&2
  fi
  exit 1
fi
