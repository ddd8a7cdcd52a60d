#!/usr/bin/env bash
# The checks to run on a lent GPU machine, in one go: the tests marked `gpu`, the full test suite
# (stopping at the first failure), then benchmarks/bench_gpu.py. Every step runs even when an
# earlier one fails; the exit status is the first non-zero one. When $OUT is set, each step's
# output is also written there (tee), with the benchmark's JSON.
#
# The full suite runs last: the GPU-only tests and the benchmark matter most when the lease is
# short. Each step can be given a time limit, so that a slow step still leaves the others theirs
# and the whole run ends inside the lease (a step stopped by its limit exits 124).
#
# On the lent GPU machine, whose image lacks some of the packages: fetch them here first with
# benchmarks/gpu_wheels.sh, carry `.whl`, and install them there before this script (see it).
#
# Usage: benchmarks/run_gpu_checks.sh [all|tests|bench]   (default: all)
#   PYTHON        interpreter to use (default: python)
#   BENCH_ARGS    extra arguments for bench_gpu.py, e.g. "--only codes --repeats 5"
#   PYTEST_ARGS   extra arguments for the full suite, e.g. "-n 8" with pytest-xdist
#   GPU_TESTS_S, BENCH_S, SUITE_S   time limits of the three steps in seconds (default: none)
set -u -o pipefail

cd "$(dirname "$0")/.."
what="${1:-all}"
case "$what" in
    all | tests | bench) ;;
    *) echo "usage: $0 [all|tests|bench]" >&2; exit 2 ;;
esac
PYTHON="${PYTHON:-python}"
# The working tree's sktransfer, whether or not (or wherever) the package is installed.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
out="${OUT:-}"
[ -n "$out" ] && mkdir -p "$out"
status=0

# step NAME LIMIT COMMAND...: run a command, under LIMIT seconds unless LIMIT is empty, its output
# teed into $OUT/<name>.txt when $OUT is set; remember a failure.
step() {
    local name="$1" limit="$2"
    shift 2
    echo "=== $name: $*"
    local rc
    local run=("$@")
    [ -n "$limit" ] && run=(timeout --kill-after=10 "$limit" "$@")
    if [ -n "$out" ]; then
        "${run[@]}" 2>&1 | tee "$out/$name.txt"
        rc=${PIPESTATUS[0]}
    else
        "${run[@]}" 2>&1
        rc=$?
    fi
    echo "=== $name: exit $rc"
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
        status=$rc
    fi
}

step environment "" bash -c "nvidia-smi || echo '(no nvidia-smi)'; $PYTHON -c 'import sys, torch, torchvision, sktransfer
print(sys.version); print(torch.__version__, torchvision.__version__, sktransfer.__file__)
print(\"cuda:\", torch.cuda.is_available(), torch.version.cuda)'"

if [ "$what" != bench ]; then
    # pytest refuses `-m gpu` under --strict-markers until the marker is registered.
    if "$PYTHON" -m pytest --markers | grep -q '^@pytest.mark.gpu:'; then
        step pytest_gpu "${GPU_TESTS_S:-}" "$PYTHON" -m pytest -m gpu -q -p no:cacheprovider
    else
        echo "=== pytest_gpu: no 'gpu' marker registered in this version; skipped"
    fi
fi

if [ "$what" != tests ]; then
    json="${out:-benchmarks/results}/bench_gpu.json"
    # shellcheck disable=SC2086  # BENCH_ARGS is a list of words
    step bench_gpu "${BENCH_S:-}" "$PYTHON" benchmarks/bench_gpu.py --device cuda --out "$json" ${BENCH_ARGS:-}
fi

if [ "$what" != bench ]; then
    # shellcheck disable=SC2086  # PYTEST_ARGS is a list of words
    step pytest_all "${SUITE_S:-}" "$PYTHON" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-}
fi

exit "$status"
