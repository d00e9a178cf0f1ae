#!/usr/bin/env bash
# Swaps ONNX Runtime's CPU build for its GPU build (or back, with --cpu) in one Python environment.
#
# onnxruntime and onnxruntime-gpu install the same `onnxruntime/` folder: with both present the last
# one installed wins, and removing either breaks the other. So both are removed first, then exactly
# one is installed. Run it again after any `pip install` that reinstalls `onnxruntime`.
#
#   scripts/use-gpu.sh [--cpu] [PYTHON]      (PYTHON defaults to .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
package="onnxruntime-gpu"
if [ "${1:-}" = "--cpu" ]; then
  package="onnxruntime"
  shift
fi
PY=${1:-.venv/bin/python}
"$PY" -m pip uninstall --quiet --yes onnxruntime onnxruntime-gpu || true
"$PY" -m pip install --quiet "$package"
echo "installed $package; the provider Local Mind now uses:" >&2
"$PY" -m localmind.cli doctor || true
