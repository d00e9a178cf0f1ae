#!/usr/bin/env bash
# System packages the tests need: real LSP clients for tests/editors/ (Debian's Neovim, and Emacs with eglot
# and markdown-mode, with which eglot asks for Markdown hovers), Java 17 with Maven, which build the embedded
# Neo4j 5.26 server the backend tests start (tests/servers/neo4j/), and for the VS Code extension
# (clients/vscode): node and npm, chromium (drives code-server in the end-to-end test), and what code-server's
# install compiles with (ripgrep, build-essential, libkrb5-dev; see scripts/install-code-server.sh).
# Uses apt-get as root, or through sudo; elsewhere it says what to install and carries on.
set -euo pipefail
missing=()
command -v nvim >/dev/null 2>&1 || missing+=(neovim)
command -v emacs >/dev/null 2>&1 || missing+=(emacs-nox)
compgen -G '/usr/share/emacs/site-lisp/elpa/eglot-*' >/dev/null || missing+=(elpa-eglot)
compgen -G '/usr/share/emacs/site-lisp/elpa/markdown-mode-*' >/dev/null || missing+=(elpa-markdown-mode)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || missing+=(build-essential)
[ -f /usr/include/krb5.h ] || [ -f /usr/include/krb5/krb5.h ] || missing+=(libkrb5-dev)
command -v node >/dev/null 2>&1 || missing+=(nodejs libnode-dev)
command -v npm >/dev/null 2>&1 || missing+=(npm)
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
