#!/usr/bin/env bash
# The test command: installs everything into .venv, then runs the linters, the type checker and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install-system.sh
echo "== ruff" >&2
.venv/bin/ruff check server tests bench
.venv/bin/ruff format --check server tests bench
echo "== mypy" >&2
.venv/bin/mypy
echo "== pytest" >&2
.venv/bin/pytest -ra "$@"
