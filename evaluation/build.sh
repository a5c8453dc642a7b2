#!/usr/bin/env bash
# Build the evaluation image from a staged context (evaluation/stage_context.sh: the evaluation
# package plus algorithm/__init__.py and algorithm/measurements/), removed afterwards.
#   BASE_IMAGE=local/pytorch:cpu evaluation/build.sh        (no registry access)
# Env: IMAGE (tag, default lesionseg-evaluation:latest), BASE_IMAGE (default: the Dockerfile's
# python:3.11-slim), DOCKER_BUILD_NETWORK (default host: pip needs the network during the build).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${IMAGE:-lesionseg-evaluation:latest}"
CONTEXT="$(mktemp -d)"
trap 'rm -rf "$CONTEXT"' EXIT
"$HERE/stage_context.sh" "$CONTEXT"
args=(--network "${DOCKER_BUILD_NETWORK:-host}" --tag "$IMAGE")
if [[ -n "${BASE_IMAGE:-}" ]]; then args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE"); fi
docker build "${args[@]}" "$CONTEXT"
