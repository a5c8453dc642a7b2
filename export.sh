#!/usr/bin/env bash
# Build the algorithm images and export what grand-challenge.org takes:
#   export/lesionseg-algorithm.tar.gz          `docker save | gzip` of the exec-mode image (one
#                                              image, one tag): a container run per case
#   export/lesionseg-algorithm-invoke.tar.gz   the same for the invoke-mode image (the label
#                                              org.grand-challenge.api-method="invoke"): a server
#                                              that keeps the model loaded between cases
#   export/model.tar.gz                        the weights and model card, for the separate model
#                                              upload (extracted to /opt/ml/model/ at run time);
#                                              only when algorithm/weights/model_card.json exists
# Upload one of the two images. Each saved tarball is checked: exactly one image with one tag,
# architecture amd64, user not root, and the api-method label of its mode (none on exec).
#   ./export.sh [OUTPUT_DIR]                     (default: export/ in the repository)
#   BASE_IMAGE=local/pytorch:cpu ./export.sh     (no registry access: a local stand-in base)
# Env: IMAGE (default lesionseg-algorithm:latest), INVOKE_IMAGE (default
# lesionseg-algorithm-invoke:latest), BASE_IMAGE, DOCKER_BUILD_NETWORK (as for test.sh),
# SKIP_BUILD=1 (export the images already built under IMAGE and INVOKE_IMAGE).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${IMAGE:-lesionseg-algorithm:latest}"
INVOKE_IMAGE="${INVOKE_IMAGE:-lesionseg-algorithm-invoke:latest}"
OUT_DIR="${1:-$ROOT/export}"
IMAGE_TARBALL="$OUT_DIR/lesionseg-algorithm.tar.gz"
INVOKE_TARBALL="$OUT_DIR/lesionseg-algorithm-invoke.tar.gz"
MODEL_TARBALL="$OUT_DIR/model.tar.gz"
WEIGHTS="$ROOT/algorithm/weights"

# A build is cheap when nothing changed (every layer comes from the cache) and guarantees the
# tarball holds the current code.
# The invoke image is the exec image's last stage: its build takes every layer from the cache.
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  build_log="$(mktemp)"
  bash "$ROOT/scripts/build_image.sh" "$IMAGE" "$ROOT" "$build_log" ./export.sh exec
  bash "$ROOT/scripts/build_image.sh" "$INVOKE_IMAGE" "$ROOT" "$build_log" ./export.sh invoke
  rm -f "$build_log"
fi
docker image inspect "$IMAGE" >/dev/null
docker image inspect "$INVOKE_IMAGE" >/dev/null
# The platform runs the image on its GPUs; a stand-in base (local/pytorch:cpu) has a CPU-only
# PyTorch, so such an export works there but never uses the GPU.
torch_cuda="$(docker run --rm --network none --entrypoint python "$IMAGE" \
  -c 'import torch; print(torch.version.cuda or "none")' 2>/dev/null || echo unknown)"

mkdir -p "$OUT_DIR"
trap 'rm -f "$IMAGE_TARBALL.partial" "$INVOKE_TARBALL.partial" "$MODEL_TARBALL.partial"' EXIT
compress=(gzip -c)
if command -v pigz >/dev/null 2>&1; then compress=(pigz -c); fi

# Check the tarball itself (not just the local image): read manifest.json and the image config
# from the stream with the image's own Python, so the host needs nothing but Docker. The
# platform reads the label org.grand-challenge.api-method (case and quotes ignored; absent:
# exec) to choose how it runs the image.
CHECK='
import json, sys, tarfile
expected_tag, expected_method = sys.argv[1], sys.argv[2]
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
labels = (config.get("config") or {}).get("Labels") or {}
method = next((str(v).lower().replace("\"", "").replace("\x27", "").strip()
               for k, v in labels.items() if str(k).lower().strip() == "org.grand-challenge.api-method"),
              "exec")
if method != expected_method:
    problems.append(f"org.grand-challenge.api-method is {method!r}, expected {expected_method!r}")
layers = len(entry.get("Layers") or [])
print(f"tarball: 1 image, tags {tags}, {layers} layers, {os_}/{arch}, user {user!r}, api-method {method!r}")
if problems:
    sys.exit("FAIL: " + "; ".join(problems))
'
save_and_check() {  # $1: image, $2: tarball, $3: the api-method label it must carry
  echo "== saving $1 to $2"
  local start=$SECONDS
  docker save "$1" | "${compress[@]}" > "$2.partial"
  mv "$2.partial" "$2"
  echo "saved in $((SECONDS - start)) s"
  echo "== checking $2"
  docker run --rm -i --network none --entrypoint python "$IMAGE" -c "$CHECK" "$1" "$3" < "$2"
}
save_and_check "$IMAGE" "$IMAGE_TARBALL" exec
save_and_check "$INVOKE_IMAGE" "$INVOKE_TARBALL" invoke

if [[ -f "$WEIGHTS/model_card.json" ]]; then
  shopt -s nullglob
  weight_files=("$WEIGHTS"/*.safetensors)
  if [[ ${#weight_files[@]} -eq 0 ]]; then
    echo "FAIL: $WEIGHTS has a model card but no .safetensors file" >&2
    exit 1
  fi
  names=(model_card.json)
  for f in "${weight_files[@]}"; do names+=("$(basename "$f")"); done
  # the network for prompts other than clicks, when the card names one (its prompt_model)
  if [[ -f "$WEIGHTS/prompts/model_card.json" ]]; then names+=(prompts); fi
  echo "== packing ${names[*]} into $MODEL_TARBALL (files at the top level: /opt/ml/model/<file>)"
  tar -C "$WEIGHTS" -czf "$MODEL_TARBALL.partial" "${names[@]}"
  mv "$MODEL_TARBALL.partial" "$MODEL_TARBALL"
else
  rm -f "$MODEL_TARBALL"
  echo "note: no weights in algorithm/weights/ (no model_card.json): skipped $(basename "$MODEL_TARBALL");"
  echo "      the image runs the classical method until weights are installed"
fi

echo "== exported"
for tag in "$IMAGE" "$INVOKE_IMAGE"; do
  image_size="$(docker image inspect --format '{{.Size}}' "$tag")"
  echo "image $tag: $((image_size / 1024 / 1024)) MiB uncompressed"
done
for f in "$IMAGE_TARBALL" "$INVOKE_TARBALL" "$MODEL_TARBALL"; do
  if [[ -f "$f" ]]; then
    bytes="$(wc -c < "$f" | tr -d ' ')"
    echo "$f: $((bytes / 1024 / 1024)) MiB ($bytes bytes)"
  fi
done
if [[ "$torch_cuda" == none ]]; then
  echo "WARNING: $IMAGE has a CPU-only PyTorch (built on a stand-in base such as local/pytorch:cpu): grand-challenge's GPUs will sit idle; for upload, rebuild where the default BASE_IMAGE can be pulled" >&2
fi
