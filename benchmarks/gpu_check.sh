#!/usr/bin/env bash
# GPU check, offline: podscribe and plain faster-whisper / openai-whisper with --device cuda (float16)
# on tests/data/interview.fr.opus; RTF figures go to OUT/rtf.txt (and OUT/results.json, OUT/results.md).
#
#   benchmarks/gpu_check.sh [CACHE_DIR] [OUT_DIR]
#
# CACHE_DIR: a podscribe cache holding ct2/base/model.bin (+ config, tokenizer, vocabulary) and
#            openai/base.pt (default: $PODSCRIBE_CACHE, else ~/.cache/podscribe). Make it here with
#            `PYTHONPATH=src python -c "from podscribe.weights import resolve_ct2, resolve_openai;
#            resolve_ct2('base'); resolve_openai('base')"` and bring it along.
# OUT_DIR:   where the figures go (default benchmarks/results/gpu).
# WHEELS:    optional folder of wheels installed first with pip --no-index (for a machine that lacks
#            faster-whisper, openai-whisper, onnxruntime, ...; nothing is downloaded).
# Exit 2 with one line on stderr when there is no NVIDIA GPU, package or weights; a few minutes otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

export PODSCRIBE_CACHE="${1:-${PODSCRIBE_CACHE:-$HOME/.cache/podscribe}}"
OUT="${2:-benchmarks/results/gpu}"
PYTHON="${PYTHON:-python3}"
export HF_HUB_OFFLINE=1 PYANNOTE_METRICS_ENABLED=false PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi missing or sees no device)" >&2
  exit 2
fi
if [ -n "${WHEELS:-}" ]; then
  "$PYTHON" -m pip install -q --no-index --find-links "$WHEELS" "$WHEELS"/*.whl
fi
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
timeout 1200 "$PYTHON" benchmarks/gpu_check.py --out "$OUT" "${@:3}"
