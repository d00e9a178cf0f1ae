#!/usr/bin/env bash
# Says which ONNX Runtime build this machine should get, and why, as one line: "gpu <reason>" or "cpu <reason>".
# The GPU build is chosen when `nvidia-smi -L` lists a GPU: the driver is loaded and the device is visible.
# LOCALMIND_GPU=1 or 0 overrides the check (for containers whose nvidia-smi is missing or misleading).
set -uo pipefail
case "${LOCALMIND_GPU:-}" in
  1) echo "gpu LOCALMIND_GPU=1 asks for it"; exit 0 ;;
  0) echo "cpu LOCALMIND_GPU=0 asks for it"; exit 0 ;;
  "") ;;
  *) echo "LOCALMIND_GPU must be 1 or 0, not '${LOCALMIND_GPU}'" >&2; exit 2 ;;
esac
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "cpu no NVIDIA driver is visible (nvidia-smi is not on PATH)"
  exit 0
fi
listing=$(timeout 20 nvidia-smi -L 2>&1)
status=$?
first=$(printf '%s\n' "$listing" | grep -m1 '^GPU [0-9]')
if [ $status -eq 0 ] && [ -n "$first" ]; then
  echo "gpu nvidia-smi lists ${first%% (UUID*}"
else
  echo "cpu nvidia-smi lists no GPU ($(printf '%s' "$listing" | head -c 120 | tr '\n' ' '))"
fi
