#!/usr/bin/env bash
# Build the algorithm images (exec and invoke mode) and run them the way grand-challenge.org
# does. Exec mode: one container per example case in test/input/, compared with
# test/expected_output/; then the bad-input cases in test/bad_input/, each of which must fail
# cleanly. Invoke mode: ONE running container serves the first example case, every bad-input
# case and then the other example cases in a row through POST /invoke, with the same checks (a
# bad case answers an error and writes nothing; the next good case still succeeds). Exits
# non-zero on any mismatch.
#   ./test.sh                                   (pulls the default PyTorch base image)
#   BASE_IMAGE=local/pytorch:cpu ./test.sh      (no registry access: a local stand-in base)
# Env: IMAGE (tag, default lesionseg-algorithm:latest), INVOKE_IMAGE (default
# lesionseg-algorithm-invoke:latest), HEALTH_TIMEOUT (s the invoke server may take to answer
# GET /health with 200, default 300), INVOKE_TIMEOUT (s per POST /invoke, default 300),
# BASE_IMAGE, DOCKER_BUILD_NETWORK
# (default: host where Docker has no default bridge network, else Docker's default), MEMORY
# (default 8g), SHM_SIZE (default 1g), GPUS (auto | all | none; auto adds --gpus all only where
# Docker has an nvidia runtime), MIN_DSC (default 0.98), PYTHON (host interpreter with numpy and
# SimpleITK for the comparison; without one, or with PYTHON=none, it runs inside the built image),
# SKIP_BUILD=1 (test an image that is already built).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
IMAGE="${IMAGE:-lesionseg-algorithm:latest}"
INVOKE_IMAGE="${INVOKE_IMAGE:-lesionseg-algorithm-invoke:latest}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-300}"
INVOKE_TIMEOUT="${INVOKE_TIMEOUT:-300}"
INVOKE_PORT=4743
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
invoke_container="lesionseg-invoke-test-$$"
cleanup() {
  docker rm -f "$invoke_container" >/dev/null 2>&1 || true
  hand_back "$WORK/output"
  hand_back "$WORK/bad"
  hand_back "$WORK/invoke"
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- build -----------------------------------------------------------------------------------
# Two stages of one Dockerfile: the invoke image is the exec image plus a label, a port and an
# entry point, so its build takes every layer from the cache.
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  for stage in exec invoke; do
    tag="$IMAGE"; [[ $stage == invoke ]] && tag="$INVOKE_IMAGE"
    start=$SECONDS
    bash "$ROOT/scripts/build_image.sh" "$tag" "$ROOT" "$WORK/build-$stage.log" ./test.sh "$stage"
    echo "built $tag in $((SECONDS - start)) s ($(grep -cE 'Using cache|CACHED' "$WORK/build-$stage.log" || true) cached steps)"
  done
fi

api_method() {  # the label grand-challenge reads to choose how to run an image (none: exec)
  docker image inspect --format '{{index .Config.Labels "org.grand-challenge.api-method"}}' "$1"
}
for tag in "$IMAGE" "$INVOKE_IMAGE"; do
  user="$(docker image inspect --format '{{.Config.User}}' "$tag")"
  arch="$(docker image inspect --format '{{.Architecture}}' "$tag")"
  size="$(docker image inspect --format '{{.Size}}' "$tag")"
  method="$(api_method "$tag")"
  echo "image $tag: user '$user', architecture $arch, api-method '${method:-exec (no label)}', $((size / 1024 / 1024)) MiB uncompressed"
  if [[ -z "$user" || "$user" == root || "$user" == 0 || "$user" == 0:* ]]; then
    echo "FAIL: $tag runs as root; grand-challenge requires a non-root USER" >&2
    exit 1
  fi
  if [[ "$arch" != amd64 ]]; then
    echo "FAIL: $tag is $arch; grand-challenge requires amd64" >&2
    exit 1
  fi
done
if [[ -n "$(api_method "$IMAGE")" && "$(api_method "$IMAGE")" != exec ]]; then
  echo "FAIL: $IMAGE has org.grand-challenge.api-method='$(api_method "$IMAGE")'; the exec image must not" >&2
  exit 1
fi
if [[ "$(api_method "$INVOKE_IMAGE")" != invoke ]]; then
  echo "FAIL: $INVOKE_IMAGE lacks LABEL org.grand-challenge.api-method=\"invoke\"; the platform would run it in exec mode" >&2
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
platform_args=(--network none --read-only --tmpfs /tmp --memory "$MEMORY" --memory-swap "$MEMORY"
               --shm-size "$SHM_SIZE" ${gpu_args[@]+"${gpu_args[@]}"})
run_case() {  # $1: input folder, $2: output folder; stdout and stderr go to the caller
  docker run --rm "${platform_args[@]}" --volume "$1:/input:ro" --volume "$2:/output" "$IMAGE"
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

python_ok() { "$1" -c "import numpy, SimpleITK" >/dev/null 2>&1; }
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  for candidate in python python3 "$ROOT/.venv/bin/python"; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      PYTHON="$candidate"; break
    fi
  done
fi
if [[ "$PYTHON" == none ]]; then PYTHON=""; fi
compare_with_expected() {  # $1: a folder under $WORK holding one output folder per case
  echo "== comparing $1 with test/expected_output (DSC >= $MIN_DSC, same geometry; JSON within tolerance)"
  local status
  set +e
  if [[ -n "$PYTHON" ]]; then
    "$PYTHON" "$ROOT/scripts/check_container_output.py" --min-dsc "$MIN_DSC" \
      "$ROOT/test/expected_output" "$WORK/$1"
    status=$?
  else  # no suitable host Python: the algorithm image has numpy and SimpleITK
    echo "(no host python with numpy and SimpleITK: comparing inside $IMAGE)"
    if [[ ! -d "$WORK/expected" ]]; then
      stage_input "$ROOT/test/expected_output" "$WORK/expected"
      mkdir -p "$WORK/scripts" && cp "$ROOT/scripts/check_container_output.py" "$WORK/scripts/"
      chmod -R a+rX "$WORK/scripts"
    fi
    docker run --rm --network none --volume "$WORK:/work:ro" --entrypoint python "$IMAGE" \
      /work/scripts/check_container_output.py --min-dsc "$MIN_DSC" /work/expected "/work/$1"
    status=$?
  fi
  set -e
  [[ $status -eq 0 ]] || fail "$1: the output differs from test/expected_output (see above)"
}
compare_with_expected output

# --- bad input -------------------------------------------------------------------------------
stage_bad_input() {  # $1: a test/bad_input case, $2: destination: the good base case with the
  # bad case's files laid over it
  stage_input "$ROOT/test/input/$GOOD_BASE_CASE" "$2"
  local item
  for item in "$1"*; do
    [[ "$(basename "$item")" == expected-error.txt ]] || cp -R "$item" "$2/"
  done
  chmod -R a+rX "$2"
}
expected_error() {  # $1: a test/bad_input case: the text its error must mention ("" for any)
  if [[ -f "$1/expected-error.txt" ]]; then head -n 1 "$1/expected-error.txt"; fi
}
for bad_dir in "$ROOT"/test/bad_input/*/; do
  name="$(basename "$bad_dir")"
  echo "== bad input $name: expect a non-zero exit, a last stderr line 'error: ...', no output"
  stage_bad_input "$bad_dir" "$WORK/bad/$name/input"
  new_output "$WORK/bad/$name/output"
  set +e
  run_case "$WORK/bad/$name/input" "$WORK/bad/$name/output" >"$WORK/bad/$name.out" 2>"$WORK/bad/$name.err"
  status=$?
  set -e
  last_line="$(tail -n 1 "$WORK/bad/$name.err")"
  echo "exit $status; last stderr line: $last_line"
  expected_text="$(expected_error "$bad_dir")"
  if [[ $status -eq 0 ]]; then fail "$name: the container exited 0 on bad input"; fi
  if [[ "$last_line" != error:* ]]; then fail "$name: the last stderr line does not start with 'error:'"; fi
  if [[ -n "$expected_text" && "$last_line" != *"$expected_text"* ]]; then
    fail "$name: the last stderr line does not mention '$expected_text'"
  fi
  written="$(find "$WORK/bad/$name/output" -mindepth 1 -type f 2>/dev/null | sed "s|$WORK/bad/$name/output|/output|")"
  if [[ -n "$written" ]]; then fail "$name: output written despite the error: $written"; fi
done

# --- invoke mode -----------------------------------------------------------------------------
# One container for all cases, as the platform keeps it: it polls GET /health until 200, then for
# each case fills /input, calls POST /invoke (201: done) and takes /output. The container has no
# network (--network none), so requests come from inside it (docker exec, Python's urllib, to
# 127.0.0.1:4743); /input and /output stay mounted and are refilled and emptied between cases.
HTTP_CLIENT='
import sys, urllib.error, urllib.request
method, url, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
try:
    with urllib.request.urlopen(request, timeout=timeout) as response:
        print(response.status, response.read().decode("utf-8", "replace"))
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode("utf-8", "replace"))
except OSError as error:
    print("000", error)
'
http() {  # $1: method, $2: path, $3: timeout (s); prints "STATUS BODY" (000: no answer)
  docker exec "$invoke_container" python -c "$HTTP_CLIENT" "$1" "http://127.0.0.1:$INVOKE_PORT$2" "$3" 2>&1 \
    || echo "000 docker exec failed"
}
container_stderr() { docker logs "$invoke_container" 2>&1 1>/dev/null; }
last_stderr_line() {  # $1: how many stderr lines there were before: the last line since then
  container_stderr | tail -n +"$(($1 + 1))" | tail -n 1
}
empty_folder() { find "$1" -mindepth 1 -delete; }
collect_invoke_output() {  # $1: where to keep what the server wrote; empties /output after
  if [[ $(id -u) -ne 0 ]]; then  # files of the container's user: let this host user take them
    docker exec "$invoke_container" sh -c 'find /output -mindepth 1 -user "$(id -u)" -exec chmod a+rwX {} +' || true
  fi
  mkdir -p "$1"
  cp -R "$WORK/invoke/output/." "$1/"
  empty_folder "$WORK/invoke/output"
}

echo "== invoke mode: $INVOKE_IMAGE, one container for every case"
mkdir -p "$WORK/invoke/input" "$WORK/invoke/results"
chmod 755 "$WORK/invoke" "$WORK/invoke/input"
new_output "$WORK/invoke/output"
docker run --detach --name "$invoke_container" "${platform_args[@]}" \
  --volume "$WORK/invoke/input:/input:ro" --volume "$WORK/invoke/output:/output" \
  "$INVOKE_IMAGE" >/dev/null
start_ms=$(now_ms)
health_seen=()
ready=0
while (( $(now_ms) - start_ms < HEALTH_TIMEOUT * 1000 )); do
  if [[ "$(docker inspect --format '{{.State.Running}}' "$invoke_container" 2>/dev/null)" != true ]]; then
    break
  fi
  answer="$(http GET /health 10)"
  code="${answer%% *}"
  [[ ${#health_seen[@]} -gt 0 && "${health_seen[-1]}" == "$code" ]] || health_seen+=("$code")
  if [[ "$code" == 200 ]]; then ready=1; break; fi
  sleep 1
done
ready_ms=$(($(now_ms) - start_ms))
echo "GET /health answered ${health_seen[*]:-nothing} (000: not listening yet) within $((ready_ms / 1000)).$((ready_ms % 1000 / 100)) s"
invoke_timings=()
if [[ $ready -ne 1 ]]; then
  docker logs --tail 30 "$invoke_container" >&2 || true
  fail "the invoke server never answered GET /health with 200 (within ${HEALTH_TIMEOUT} s, or the container stopped)"
else
  # the first example case, then every bad case, then the other example cases
  sequence=("${cases[0]}" "$ROOT"/test/bad_input/*/ "${cases[@]:1}")
  for case_dir in "${sequence[@]}"; do
    name="$(basename "$case_dir")"
    empty_folder "$WORK/invoke/input"
    if [[ "$case_dir" == "$ROOT"/test/bad_input/* ]]; then
      kind=bad
      stage_bad_input "$case_dir" "$WORK/invoke/input"
    else
      kind=good
      stage_input "$case_dir" "$WORK/invoke/input"
    fi
    stderr_before="$(container_stderr | wc -l)"
    start_ms=$(now_ms)
    answer="$(http POST /invoke "$INVOKE_TIMEOUT")"
    elapsed_ms=$(($(now_ms) - start_ms))
    code="${answer%% *}"
    body="${answer#* }"
    seconds="$((elapsed_ms / 1000)).$(printf '%01d' $((elapsed_ms % 1000 / 100)))"
    echo "== invoke $kind case $name: HTTP $code after ${seconds} s: $body"
    written="$(find "$WORK/invoke/output" -mindepth 1 -type f | sed "s|$WORK/invoke/output|/output|")"
    if [[ $kind == good ]]; then
      invoke_timings+=("$name: ${seconds} s")
      [[ "$code" == 201 ]] || fail "invoke $name: HTTP $code, expected 201 (last stderr line: $(last_stderr_line "$stderr_before"))"
      collect_invoke_output "$WORK/invoke/results/$name"
      exec_mask="$WORK/output/$name/images/lesion-segmentation/$name.mha"
      invoke_mask="$WORK/invoke/results/$name/images/lesion-segmentation/$name.mha"
      if [[ -f "$exec_mask" && -f "$invoke_mask" ]] && cmp -s "$exec_mask" "$invoke_mask"; then
        echo "   mask byte-identical to exec mode's"
      else
        echo "   mask not byte-identical to exec mode's (the comparison with the expected output decides)"
      fi
    else
      expected_text="$(expected_error "$case_dir")"
      for _ in 1 2 3 4 5; do  # docker's log capture may lag the HTTP answer by a moment
        last_line="$(last_stderr_line "$stderr_before")"
        [[ "$last_line" == error:* ]] && break
        sleep 0.5
      done
      echo "   last stderr line: $last_line"
      if [[ "$code" == 201 || "$code" == 000 ]]; then fail "invoke $name: HTTP $code on bad input, expected an error response"; fi
      if [[ "$body" != *'"error"'* ]]; then fail "invoke $name: the response names no error"; fi
      if [[ -n "$expected_text" && "$body" != *"$expected_text"* ]]; then fail "invoke $name: the response does not mention '$expected_text'"; fi
      if [[ "$last_line" != error:* ]]; then fail "invoke $name: the last stderr line does not start with 'error:'"; fi
      if [[ -n "$written" ]]; then fail "invoke $name: output written despite the error: $written"; fi
      empty_folder "$WORK/invoke/output"
    fi
  done
  processes="$(docker logs "$invoke_container" 2>/dev/null | grep -c 'Started server process' || true)"
  running="$(docker inspect --format '{{.State.Running}} {{.RestartCount}}' "$invoke_container")"
  echo "invoke container after ${#sequence[@]} cases: running, restarts: $running; server processes started: $processes"
  [[ "$running" == "true 0" && "$processes" == 1 ]] || fail "the invoke server did not serve every case from one process"
  compare_with_expected invoke/results
fi
docker rm -f "$invoke_container" >/dev/null 2>&1 || true

# --- summary ---------------------------------------------------------------------------------
echo "== summary"
for tag in "$IMAGE" "$INVOKE_IMAGE"; do
  echo "image $tag: $(($(docker image inspect --format '{{.Size}}' "$tag") / 1024 / 1024)) MiB uncompressed, user '$(docker image inspect --format '{{.Config.User}}' "$tag")', $(docker image inspect --format '{{.Architecture}}' "$tag")"
done
for line in "${timings[@]}"; do echo "exec mode, cold run $line"; done
echo "invoke mode: server ready in $((ready_ms / 1000)).$((ready_ms % 1000 / 100)) s"
for line in "${invoke_timings[@]}"; do echo "invoke mode, warm case $line"; done
if [[ $failures -ne 0 ]]; then
  echo "FAILED: $failures check(s) of the algorithm container failed" >&2
  exit 1
fi
echo "PASS: algorithm container test, exec and invoke mode (${#cases[@]} example case(s), $(ls -d "$ROOT"/test/bad_input/*/ | wc -l) bad-input case(s))"
