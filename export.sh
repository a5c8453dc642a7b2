#!/usr/bin/env bash
# Build the algorithm image and export what grand-challenge.org takes:
#   export/lesionseg-algorithm.tar.gz   `docker save | gzip` of the image (one image, one tag)
#   export/model.tar.gz                 the weights and model card, for the separate model upload
#                                       (extracted to /opt/ml/model/ at run time); only when
#                                       algorithm/weights/model_card.json exists
# The saved tarball is checked: exactly one image with one tag, architecture amd64, user not root.
#   ./export.sh [OUTPUT_DIR]                     (default: export/ in the repository)
#   BASE_IMAGE=local/pytorch:cpu ./export.sh     (no registry access: a local stand-in base)
# Env: IMAGE (default lesionseg-algorithm:latest), BASE_IMAGE, DOCKER_BUILD_NETWORK (as for
# test.sh), SKIP_BUILD=1 (export the image already built under IMAGE).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${IMAGE:-lesionseg-algorithm:latest}"
OUT_DIR="${1:-$ROOT/export}"
IMAGE_TARBALL="$OUT_DIR/lesionseg-algorithm.tar.gz"
MODEL_TARBALL="$OUT_DIR/model.tar.gz"
WEIGHTS="$ROOT/algorithm/weights"

# A build is cheap when nothing changed (every layer comes from the cache) and guarantees the
# tarball holds the current code.
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  build_log="$(mktemp)"
  bash "$ROOT/scripts/build_image.sh" "$IMAGE" "$ROOT" "$build_log" ./export.sh
  rm -f "$build_log"
fi
docker image inspect "$IMAGE" >/dev/null
# The platform runs the image on its GPUs; a stand-in base (local/pytorch:cpu) has a CPU-only
# PyTorch, so such an export works there but never uses the GPU.
torch_cuda="$(docker run --rm --network none --entrypoint python "$IMAGE" \
  -c 'import torch; print(torch.version.cuda or "none")' 2>/dev/null || echo unknown)"

mkdir -p "$OUT_DIR"
trap 'rm -f "$IMAGE_TARBALL.partial" "$MODEL_TARBALL.partial"' EXIT
compress=(gzip -c)
if command -v pigz >/dev/null 2>&1; then compress=(pigz -c); fi
echo "== saving $IMAGE to $IMAGE_TARBALL"
start=$SECONDS
docker save "$IMAGE" | "${compress[@]}" > "$IMAGE_TARBALL.partial"
mv "$IMAGE_TARBALL.partial" "$IMAGE_TARBALL"
echo "saved in $((SECONDS - start)) s"

# Check the tarball itself (not just the local image): read manifest.json and the image config
# from the stream with the image's own Python, so the host needs nothing but Docker.
CHECK='
import json, sys, tarfile
expected_tag = sys.argv[1]
small = {}
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|gz") as tar:
    for member in tar:
        if member.isfile() and member.size < 1_000_000 and (
                member.name == "manifest.json" or member.name.endswith(".json")
                or member.name.startswith("blobs/sha256/")):
            small[member.name] = tar.extractfile(member).read()
problems = []
manifest = json.loads(small["manifest.json"]) if "manifest.json" in small else None
if not isinstance(manifest, list) or len(manifest) != 1:
    sys.exit(f"FAIL: the tarball must hold exactly one image; manifest.json lists "
             f"{len(manifest) if isinstance(manifest, list) else 0}")
entry = manifest[0]
tags = entry.get("RepoTags") or []
if len(tags) != 1:
    problems.append(f"expected one tag, found {tags}")
elif tags[0] != expected_tag and tags[0] != "docker.io/library/" + expected_tag:
    problems.append(f"tag {tags[0]} is not {expected_tag}")
config = json.loads(small[entry["Config"]])
arch, os_ = config.get("architecture"), config.get("os")
user = (config.get("config") or {}).get("User") or ""
if arch != "amd64" or os_ != "linux":
    problems.append(f"platform {os_}/{arch}, grand-challenge requires linux/amd64")
if user.split(":")[0] in ("", "root", "0"):
    problems.append(f"user {user!r}: the image must not run as root")
layers = len(entry.get("Layers") or [])
print(f"tarball: 1 image, tags {tags}, {layers} layers, {os_}/{arch}, user {user!r}")
if problems:
    sys.exit("FAIL: " + "; ".join(problems))
'
echo "== checking $IMAGE_TARBALL"
docker run --rm -i --network none --entrypoint python "$IMAGE" -c "$CHECK" "$IMAGE" < "$IMAGE_TARBALL"

if [[ -f "$WEIGHTS/model_card.json" ]]; then
  shopt -s nullglob
  weight_files=("$WEIGHTS"/*.safetensors)
  if [[ ${#weight_files[@]} -eq 0 ]]; then
    echo "FAIL: $WEIGHTS has a model card but no .safetensors file" >&2
    exit 1
  fi
  names=(model_card.json)
  for f in "${weight_files[@]}"; do names+=("$(basename "$f")"); done
  echo "== packing ${names[*]} into $MODEL_TARBALL (files at the top level: /opt/ml/model/<file>)"
  tar -C "$WEIGHTS" -czf "$MODEL_TARBALL.partial" "${names[@]}"
  mv "$MODEL_TARBALL.partial" "$MODEL_TARBALL"
else
  rm -f "$MODEL_TARBALL"
  echo "note: no weights in algorithm/weights/ (no model_card.json): skipped $(basename "$MODEL_TARBALL");"
  echo "      the image runs the classical method until weights are installed"
fi

echo "== exported"
image_size="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
echo "image $IMAGE: $((image_size / 1024 / 1024)) MiB uncompressed"
for f in "$IMAGE_TARBALL" "$MODEL_TARBALL"; do
  if [[ -f "$f" ]]; then
    bytes="$(wc -c < "$f" | tr -d ' ')"
    echo "$f: $((bytes / 1024 / 1024)) MiB ($bytes bytes)"
  fi
done
if [[ "$torch_cuda" == none ]]; then
  echo "WARNING: $IMAGE has a CPU-only PyTorch (built on a stand-in base such as local/pytorch:cpu): grand-challenge's GPUs will sit idle; for upload, rebuild where the default BASE_IMAGE can be pulled" >&2
fi
