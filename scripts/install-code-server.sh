#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3, the newest release that runs on Node 20) for the VS Code
# extension's end-to-end test, into a cache folder, and prints the path of its `code-server` program.
# A second run finds the cached install and takes a moment. The network is closed to everything but the
# registries, so two downloads that code-server's install would make are replaced by local files:
# Debian's ripgrep stands in for @vscode/ripgrep's download, and node's headers come from /usr/include/node.
# Needs: node 20 with npm, ripgrep, build-essential and libkrb5-dev (scripts/install-system.sh).
set -euo pipefail
VERSION=4.100.3
RIPGREP_PACKAGE_VERSION=1.15.11
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
PREFIX=${LOCALMIND_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/localmind-tests/code-server-$VERSION}
BIN=$PREFIX/node_modules/.bin/code-server

if [ -f "$PREFIX/.complete" ] && [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi

for tool in node npm rg make g++; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-code-server: $tool is missing; run scripts/install-system.sh first" >&2
    exit 1
  fi
done
if [ ! -f /usr/include/node/node.h ]; then
  echo "install-code-server: node's headers (/usr/include/node) are missing; install Debian's nodejs or libnode-dev" >&2
  exit 1
fi

mkdir -p "$(dirname "$PREFIX")"
# Installs go to a staging folder that is renamed into place once complete, so a killed run leaves no half install.
STAGING=$(mktemp -d "$PREFIX.staging.XXXXXX")
WORK=$(mktemp -d)
trap 'rm -rf "$STAGING" "$WORK"' EXIT

# @vscode/ripgrep's postinstall looks in $TMPDIR/vscode-ripgrep-cache-<its version>/ before downloading.
mkdir -p "$WORK/tmp/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION" "$WORK/rg"
cp "$(command -v rg)" "$WORK/rg/rg"
tar -C "$WORK/rg" -czf "$WORK/tmp/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION/$RIPGREP_ASSET" rg

echo "installing code-server $VERSION into $PREFIX (about two minutes)" >&2
(
  cd "$STAGING"
  echo '{"name": "localmind-code-server", "private": true}' >package.json
  # node-pty's postinstall runs `npx node-gyp` (npm_config_yes answers its prompt); nodedir points node-gyp
  # at the installed headers instead of a download; --unsafe-perm lets the install scripts run as root.
  TMPDIR="$WORK/tmp" npm_config_yes=true npm_config_nodedir=/usr npm_config_update_notifier=false \
    npm install --no-audit --no-fund --unsafe-perm "code-server@$VERSION" >"$WORK/npm.log" 2>&1 || {
    tail -n 60 "$WORK/npm.log" >&2
    echo "install-code-server: npm install code-server@$VERSION failed (log above)" >&2
    exit 1
  }
)
# code-server writes a config file into $XDG_CONFIG_HOME on every start, so the check runs in a scratch one.
XDG_CONFIG_HOME="$WORK/config" "$STAGING/node_modules/.bin/code-server" --version >&2
touch "$STAGING/.complete"
rm -rf "$PREFIX"
mv "$STAGING" "$PREFIX"
echo "$BIN"
