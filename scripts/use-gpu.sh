#!/usr/bin/env bash
# Swaps ONNX Runtime's CPU build for its GPU build (or back, with --cpu) in one Python environment.
#
# onnxruntime and onnxruntime-gpu install the same `onnxruntime/` folder: with both present the last
# one installed wins, and removing either breaks the other. So both are removed first, then exactly
# one is installed. Run it again after any `pip install` that reinstalls `onnxruntime`.
#
# The GPU build comes with the CUDA and cuDNN runtime libraries from PyPI (its `cuda` and `cudnn` extras,
# the nvidia-* wheels, about 1 GB), which Local Mind preloads, so no system CUDA install is needed.
# --runtime-only installs onnxruntime-gpu alone (for machines whose CUDA and cuDNN come from the system).
#
#   scripts/use-gpu.sh [--cpu] [--runtime-only] [--no-doctor] [PYTHON]   (PYTHON defaults to .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
package="onnxruntime-gpu[cuda,cudnn]"
doctor=1
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) package="onnxruntime" ;;
    --runtime-only) [ "$package" = onnxruntime ] || package="onnxruntime-gpu" ;;
    --no-doctor) doctor=0 ;;
    *) break ;;
  esac
  shift
done
PY=${1:-.venv/bin/python}
"$PY" -m pip uninstall --quiet --yes onnxruntime onnxruntime-gpu || true
"$PY" -m pip install --quiet "$package"
if [ "$doctor" = 1 ]; then
  echo "installed $package; the provider Local Mind now uses:" >&2
  "$PY" -m localmind.cli doctor || true
fi
