#!/usr/bin/env bash
# The GPU check, in one script of at most a few minutes: installs Local Mind into a fresh virtualenv with the
# ONNX Runtime build the install step chooses for this machine (scripts/detect-gpu.sh: the GPU build when an
# NVIDIA GPU and driver are visible), checks with `localmind doctor` that the chosen provider really runs, and
# measures passages/s (bench/gpu_speed.py): fp32 and fp16 on a GPU, against sentence-transformers in float16
# on the same GPU when its reference environment exists (bench/reference_env.sh); fp32 and int8 on a CPU.
# On a machine without a GPU it proves the fallback: the CPU build, the CPU provider, and a stated reason.
#
#   bash bench/gpu.sh [--quick] [--results DIR]
# LOCALMIND_EMBEDDINGS__CACHE_DIR picks the model cache (default: the user's); LOCALMIND_GPU=1/0 overrides the choice.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
choice=$(bash scripts/detect-gpu.sh)
runtime=${choice%% *}
echo "== build: ${runtime} (${choice#* })" >&2
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet .
if [ "$runtime" = gpu ]; then
  bash scripts/use-gpu.sh --no-doctor "$py"
fi
echo "== onnxruntime: $("$py" -m pip list 2>/dev/null | grep -E '^onnxruntime' | tr -s ' ')" >&2
variants=(fp32 int8)
[ "$runtime" = gpu ] && variants=(fp32 fp16)
for variant in "${variants[@]}"; do
  "$work/venv/bin/localmind" models build --variant "$variant" >&2
done
echo "== doctor" >&2
# doctor exits 1 when any check fails; in this fresh environment the workspace checks may, so its JSON decides.
"$work/venv/bin/localmind" doctor --json >"$work/doctor.json" || true
"$py" - "$work/doctor.json" "$runtime" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
embedding = report.get("embedding", report)
provider, reason = embedding.get("provider"), embedding.get("provider_reason")
print(f"doctor: {embedding.get('model')} on {provider} ({reason})", file=sys.stderr)
if provider is None:
    sys.exit(f"doctor could not load the model: {embedding.get('problems')}")
if sys.argv[2] == "gpu" and provider != "CUDAExecutionProvider":
    sys.exit("the GPU build is installed but CUDA does not run; see the reason above")
PY
st=()
reference="${LOCALMIND_BENCH_VENV:-$HOME/.cache/localmind-bench/venv}/bin/python"
[ -x "$reference" ] && st=(--st-python "$reference")
echo "== speed" >&2
"$py" bench/gpu_speed.py --expect "$runtime" "${st[@]}" "$@"
