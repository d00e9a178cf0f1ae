#!/usr/bin/env bash
# System packages the tests need: Debian's Neovim (a real LSP client, tests/editors/), and Java 17 with
# Maven, which build the embedded Neo4j 5.26 server the backend tests start (tests/servers/neo4j/).
# Uses apt-get as root, or through sudo; elsewhere it says what to install and carries on.
set -euo pipefail
missing=()
command -v nvim >/dev/null 2>&1 || missing+=(neovim)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt=(sudo apt-get)
else
  echo "please install: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
