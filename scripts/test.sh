#!/usr/bin/env bash
# The test command: installs everything into .venv, then runs the linters, the type checker, the VS Code
# extension's build, unit tests and packaging, and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install-system.sh
echo "== ruff" >&2
.venv/bin/ruff check server tests bench
.venv/bin/ruff format --check server tests bench
echo "== mypy" >&2
.venv/bin/mypy
echo "== npm (the VS Code extension: build, unit tests, .vsix)" >&2
npm ci --no-audit --no-fund
npm run build
npm test
npm run package
echo "== pytest" >&2
.venv/bin/pytest -ra "$@"
