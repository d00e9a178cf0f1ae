#!/usr/bin/env bash
# The main job on the embedded defaults: install Local Mind, build the embedding model offline,
# check the execution provider, and embed a set of texts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/localmind models build
.venv/bin/localmind doctor
out=$(mktemp -d)/vectors.npy
.venv/bin/localmind embed --input tests/fixtures/minilm-reference/texts.jsonl --output "$out"
.venv/bin/python -c "import numpy, sys; v = numpy.load(sys.argv[1]); print(f'{v.shape[0]} vectors of {v.shape[1]} dimensions in {sys.argv[1]}')" "$out"
