#!/usr/bin/env bash
# Build the evaluation image and run it the way grand-challenge.org does, on the bundled fixture
# (evaluation/test/), then check metrics.json against expected_metrics.json and check that bad
# input (a reference without a job) fails with a clear last stderr line and no metrics.json.
#   BASE_IMAGE=local/pytorch:cpu evaluation/test.sh
# Env: IMAGE, BASE_IMAGE, DOCKER_BUILD_NETWORK (see build.sh), MEMORY (default 2g).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export IMAGE="${IMAGE:-lesionseg-evaluation:latest}"
MEMORY="${MEMORY:-2g}"
FIXTURE="$HERE/test"
SUFFIX="$(date +%s)-$$"
VOLUME="lesionseg-eval-output-$SUFFIX"
BAD_VOLUME="lesionseg-eval-bad-output-$SUFFIX"
WORK="$(mktemp -d)"
chmod 755 "$WORK"  # the container runs as a non-root user and must read what we put here

cleanup() {
  docker volume rm -f "$VOLUME" "$BAD_VOLUME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$HERE/build.sh"

run_evaluation() {  # $1: output volume, $2: ground-truth folder; stdout/stderr go to files in $WORK
  docker run --rm \
    --network none \
    --memory "$MEMORY" --memory-swap "$MEMORY" \
    --read-only --tmpfs /tmp \
    --volume "$FIXTURE/input:/input:ro" \
    --volume "$2:/opt/ml/input/data/ground_truth:ro" \
    --volume "$1:/output" \
    "$IMAGE"
}

read_output() {  # $1: volume, $2: file under /output; prints it (fails if absent)
  docker run --rm --network none --volume "$1:/output:ro" --entrypoint cat "$IMAGE" "/output/$2"
}

echo "== good input: expect metrics.json matching $FIXTURE/expected_metrics.json"
docker volume create "$VOLUME" >/dev/null
run_evaluation "$VOLUME" "$FIXTURE/ground_truth"
read_output "$VOLUME" metrics.json > "$WORK/metrics.json"
python_in_image=(docker run --rm --network none --volume "$WORK:/work:ro" --volume "$FIXTURE:/fixture:ro"
                 --entrypoint python "$IMAGE")
"${python_in_image[@]}" /fixture/compare_metrics.py /fixture/expected_metrics.json /work/metrics.json
"${python_in_image[@]}" -c "
import json, sys
json.dumps(json.load(open('/work/metrics.json'), parse_constant=lambda c: sys.exit(f'{c} in metrics.json')), allow_nan=False)
print('metrics.json has no NaN/Infinity')"

echo "== bad input: a reference case with no job; expect non-zero exit, clear last line, no metrics.json"
cp -r "$FIXTURE/ground_truth" "$WORK/bad_ground_truth"
cp "$FIXTURE/ground_truth/box_shift.mha" "$WORK/bad_ground_truth/unscored_case.mha"
chmod -R a+rX "$WORK/bad_ground_truth"
docker volume create "$BAD_VOLUME" >/dev/null
set +e
run_evaluation "$BAD_VOLUME" "$WORK/bad_ground_truth" >"$WORK/bad.out" 2>"$WORK/bad.err"
status=$?
set -e
last_line="$(tail -n 1 "$WORK/bad.err")"
echo "exit status: $status; last stderr line: $last_line"
expected_line="error: 1 reference case(s) in /opt/ml/input/data/ground_truth have no prediction: 'unscored_case'"
if [[ $status -eq 0 || "$last_line" != "$expected_line" ]]; then
  echo "FAIL: expected a non-zero exit and last stderr line: $expected_line" >&2
  exit 1
fi
if read_output "$BAD_VOLUME" metrics.json >/dev/null 2>&1; then
  echo "FAIL: a metrics.json was written despite the error" >&2
  exit 1
fi

size="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
echo "PASS: evaluation container test ($IMAGE, $((size / 1024 / 1024)) MiB uncompressed)"
