#!/usr/bin/env bash
# Build the algorithm image and run it the way grand-challenge.org does on every example case in
# test/input/, then compare what it wrote with test/expected_output/; then run the bad-input
# cases in test/bad_input/ and require a clean failure. Exits non-zero on any mismatch.
#   ./test.sh                                   (pulls the default PyTorch base image)
#   BASE_IMAGE=local/pytorch:cpu ./test.sh      (no registry access: a local stand-in base)
# Env: IMAGE (tag, default lesionseg-algorithm:latest), BASE_IMAGE, DOCKER_BUILD_NETWORK
# (default: host where Docker has no default bridge network, else Docker's default), MEMORY
# (default 8g), SHM_SIZE (default 1g), GPUS (auto | all | none; auto adds --gpus all only where
# Docker has an nvidia runtime), MIN_DSC (default 0.98), PYTHON (host interpreter with numpy and
# SimpleITK for the comparison; without one, or with PYTHON=none, it runs inside the built image),
# SKIP_BUILD=1 (test an image that is already built).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
IMAGE="${IMAGE:-lesionseg-algorithm:latest}"
MEMORY="${MEMORY:-8g}"
SHM_SIZE="${SHM_SIZE:-1g}"
GPUS="${GPUS:-auto}"
MIN_DSC="${MIN_DSC:-0.98}"
GOOD_BASE_CASE=ct_phantom   # the bad-input cases are laid over a copy of this case

WORK="$(mktemp -d)"
chmod 755 "$WORK"  # the container runs as a non-root user and must read what we stage here
hand_back() {  # $1: a folder the container wrote into; let this (non-root) host user read and
  # remove what the container's user created there (as root there is nothing to do)
  if [[ $(id -u) -ne 0 && -d "$1" ]]; then
    docker run --rm --network none --volume "$1:/handback" --entrypoint sh "$IMAGE" \
      -c 'find /handback -mindepth 1 -user "$(id -u)" -exec chmod a+rwX {} +' || true
  fi
}
cleanup() {
  hand_back "$WORK/output"
  hand_back "$WORK/bad"
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- build -----------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  start=$SECONDS
  bash "$ROOT/scripts/build_image.sh" "$IMAGE" "$ROOT" "$WORK/build.log" ./test.sh
  echo "built $IMAGE in $((SECONDS - start)) s ($(grep -cE 'Using cache|CACHED' "$WORK/build.log" || true) cached steps)"
fi

user="$(docker image inspect --format '{{.Config.User}}' "$IMAGE")"
arch="$(docker image inspect --format '{{.Architecture}}' "$IMAGE")"
size="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
echo "image $IMAGE: user '$user', architecture $arch, $((size / 1024 / 1024)) MiB uncompressed"
if [[ -z "$user" || "$user" == root || "$user" == 0 || "$user" == 0:* ]]; then
  echo "FAIL: the image runs as root; grand-challenge requires a non-root USER" >&2
  exit 1
fi
if [[ "$arch" != amd64 ]]; then
  echo "FAIL: the image is $arch; grand-challenge requires amd64" >&2
  exit 1
fi

gpu_args=()
case "$GPUS" in
  all) gpu_args=(--gpus all) ;;
  none) ;;
  auto) if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q nvidia; then
          gpu_args=(--gpus all)
        fi ;;
  *) echo "GPUS must be auto, all or none, not '$GPUS'" >&2; exit 2 ;;
esac
echo "GPU: ${gpu_args[*]:-none (CPU run)}"

# Like the platform: no network, read-only /input, a fresh /tmp, bounded memory, roomy /dev/shm.
# The root filesystem is read-only too: the algorithm may write only to /output and /tmp.
run_case() {  # $1: input folder, $2: output folder; stdout and stderr go to the caller
  docker run --rm \
    --network none \
    --read-only --tmpfs /tmp \
    --memory "$MEMORY" --memory-swap "$MEMORY" \
    --shm-size "$SHM_SIZE" \
    ${gpu_args[@]+"${gpu_args[@]}"} \
    --volume "$1:/input:ro" \
    --volume "$2:/output" \
    "$IMAGE"
}

stage_input() {  # $1: source case folder, $2: destination; readable by the container's user
  mkdir -p "$2"
  cp -R "$1/." "$2/"
  chmod -R a+rX "$2"
}

new_output() {  # an empty /output the container's non-root user can write to
  mkdir -p "$1"
  chmod 777 "$1"
}

now_ms() {  # wall clock in milliseconds (bash 5's EPOCHREALTIME; whole seconds elsewhere)
  if [[ -n "${EPOCHREALTIME:-}" ]]; then local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000))
  else echo $(($(date +%s) * 1000)); fi
}

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# --- example cases ---------------------------------------------------------------------------
timings=()
shopt -s nullglob
cases=("$ROOT"/test/input/*/)
[[ ${#cases[@]} -gt 0 ]] || { echo "no example cases in test/input/" >&2; exit 1; }
for case_dir in "${cases[@]}"; do
  name="$(basename "$case_dir")"
  echo "== example case $name"
  stage_input "$case_dir" "$WORK/input/$name"
  new_output "$WORK/output/$name"
  start_ms=$(now_ms)
  set +e
  run_case "$WORK/input/$name" "$WORK/output/$name" >"$WORK/$name.out" 2>"$WORK/$name.err"
  status=$?
  set -e
  elapsed_ms=$(($(now_ms) - start_ms))
  seconds="$((elapsed_ms / 1000)).$(printf '%01d' $((elapsed_ms % 1000 / 100)))"
  timings+=("$name: ${seconds} s")
  echo "exit $status after ${seconds} s (cold docker run); last stderr line: $(tail -n 1 "$WORK/$name.err")"
  if [[ $status -ne 0 ]]; then
    tail -n 20 "$WORK/$name.err" >&2
    fail "the container exited $status on $name"
  fi
done
hand_back "$WORK/output"

echo "== comparing with test/expected_output (DSC >= $MIN_DSC, same geometry; JSON within tolerance)"
python_ok() { "$1" -c "import numpy, SimpleITK" >/dev/null 2>&1; }
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  for candidate in python python3 "$ROOT/.venv/bin/python"; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      PYTHON="$candidate"; break
    fi
  done
fi
set +e
if [[ "$PYTHON" == none ]]; then PYTHON=""; fi
if [[ -n "$PYTHON" ]]; then
  "$PYTHON" "$ROOT/scripts/check_container_output.py" --min-dsc "$MIN_DSC" \
    "$ROOT/test/expected_output" "$WORK/output"
  status=$?
else  # no suitable host Python: the algorithm image has numpy and SimpleITK
  echo "(no host python with numpy and SimpleITK: comparing inside $IMAGE)"
  stage_input "$ROOT/test/expected_output" "$WORK/expected"
  mkdir -p "$WORK/scripts" && cp "$ROOT/scripts/check_container_output.py" "$WORK/scripts/"
  chmod -R a+rX "$WORK/scripts"
  docker run --rm --network none --volume "$WORK:/work:ro" --entrypoint python "$IMAGE" \
    /work/scripts/check_container_output.py --min-dsc "$MIN_DSC" /work/expected /work/output
  status=$?
fi
set -e
[[ $status -eq 0 ]] || fail "the output differs from test/expected_output (see above)"

# --- bad input -------------------------------------------------------------------------------
for bad_dir in "$ROOT"/test/bad_input/*/; do
  name="$(basename "$bad_dir")"
  echo "== bad input $name: expect a non-zero exit, a last stderr line 'error: ...', no output"
  stage_input "$ROOT/test/input/$GOOD_BASE_CASE" "$WORK/bad/$name/input"
  for item in "$bad_dir"*; do
    [[ "$(basename "$item")" == expected-error.txt ]] || cp -R "$item" "$WORK/bad/$name/input/"
  done
  chmod -R a+rX "$WORK/bad/$name/input"
  new_output "$WORK/bad/$name/output"
  set +e
  run_case "$WORK/bad/$name/input" "$WORK/bad/$name/output" >"$WORK/bad/$name.out" 2>"$WORK/bad/$name.err"
  status=$?
  set -e
  last_line="$(tail -n 1 "$WORK/bad/$name.err")"
  echo "exit $status; last stderr line: $last_line"
  expected_text=""
  if [[ -f "$bad_dir/expected-error.txt" ]]; then expected_text="$(head -n 1 "$bad_dir/expected-error.txt")"; fi
  if [[ $status -eq 0 ]]; then fail "$name: the container exited 0 on bad input"; fi
  if [[ "$last_line" != error:* ]]; then fail "$name: the last stderr line does not start with 'error:'"; fi
  if [[ -n "$expected_text" && "$last_line" != *"$expected_text"* ]]; then
    fail "$name: the last stderr line does not mention '$expected_text'"
  fi
  written="$(find "$WORK/bad/$name/output" -mindepth 1 -type f 2>/dev/null | sed "s|$WORK/bad/$name/output|/output|")"
  if [[ -n "$written" ]]; then fail "$name: output written despite the error: $written"; fi
done

# --- summary ---------------------------------------------------------------------------------
echo "== summary"
echo "image $IMAGE: $((size / 1024 / 1024)) MiB uncompressed, user '$user', $arch"
for line in "${timings[@]}"; do echo "cold run $line"; done
if [[ $failures -ne 0 ]]; then
  echo "FAILED: $failures check(s) of the algorithm container failed" >&2
  exit 1
fi
echo "PASS: algorithm container test (${#cases[@]} example case(s), $(ls -d "$ROOT"/test/bad_input/*/ | wc -l) bad-input case(s))"
