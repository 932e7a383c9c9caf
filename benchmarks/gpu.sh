#!/usr/bin/env bash
# The GPU speed benchmark, prepared to run as is on a CUDA machine (a few minutes on
# an H100 or H200): every section of benchmarks/speed.py in bf16 autocast, with MFU against
# the GPU's data-sheet peak and the ratio to torch.nn.Transformer.
#
#   bash benchmarks/gpu.sh                  # all sections -> benchmarks/results/cuda.{json,md}
#   bash benchmarks/gpu.sh train base       # some sections
#
# It refuses (exit status 2, with the reason) on a machine without CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
if [ ! -x "$PY" ]; then
    PY=python3
fi
"$PY" -c "import annotated" 2>/dev/null || { echo "error: the annotated package is not installed for $PY; run 'make setup' (or pip install -e .) first" >&2; exit 2; }
exec "$PY" benchmarks/speed.py --device cuda "$@"
