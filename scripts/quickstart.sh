#!/usr/bin/env bash
# The main job on the embedded defaults: install Local Mind, build the embedding model offline, index a
# folder into the embedded store (SQLite + exact vector index, no server), and search it.
#
#   bash scripts/quickstart.sh [FOLDER] [QUERY]     (defaults: this repository, a sample question)
set -euo pipefail
cd "$(dirname "$0")/.."
folder=$(realpath "${1:-.}")
query=${2:-"how are embeddings computed without torch"}
bash scripts/install.sh
.venv/bin/localmind models build --variant auto
.venv/bin/localmind index "$folder"
.venv/bin/localmind status "$folder"
echo
echo "search: $query"
(cd "$folder" && "$OLDPWD/.venv/bin/localmind" search "$query" -k 5)
