"""Convert a CTranslate2 Whisper model (faster-whisper's format) into an openai-whisper checkpoint.

One set of weights then serves both engines. model.bin is read by ``ct2file``, and the variable
names ctranslate2's Whisper converter produces are mapped back to openai-whisper's module names. The
weights keep their dtype (openai-whisper's own checkpoints are float16; load_state_dict casts into
the model's dtype).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import re
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from .ct2file import BFLOAT16, read_model
from .errors import ModelError
from .files import atomic_target

logger = logging.getLogger(__name__)


def _read_ct2_model(path: Path) -> dict[str, torch.Tensor]:
    """Parse a CTranslate2 Whisper model.bin into {variable name: tensor}, aliases resolved."""
    model = read_model(path)
    if model.spec != "WhisperSpec":
        raise ModelError(f"not a Whisper model (CTranslate2 spec {model.spec!r})", path)
    tensors = {}
    for name, array in model.variables.items():
        tensor = torch.from_numpy(array)
        tensors[name] = tensor.view(torch.bfloat16) if model.dtypes[name] == BFLOAT16 else tensor
    return tensors | {alias: tensors[name] for alias, name in model.aliases.items()}


def _linear(v: dict[str, torch.Tensor], src: str, dst: str) -> dict[str, torch.Tensor]:
    return {f"{dst}.weight": v[f"{src}/weight"], f"{dst}.bias": v[f"{src}/bias"]}


def _layer_norm(v: dict[str, torch.Tensor], src: str, dst: str) -> dict[str, torch.Tensor]:
    return {f"{dst}.weight": v[f"{src}/gamma"], f"{dst}.bias": v[f"{src}/beta"]}


def _key_value(weight: torch.Tensor, bias: torch.Tensor, dst: str) -> dict[str, torch.Tensor]:
    """Split a fused [key; value] projection; openai-whisper's key has no bias (CTranslate2 stores zeros)."""
    key_weight, value_weight = weight.chunk(2)
    key_bias, value_bias = bias.chunk(2)
    if torch.count_nonzero(key_bias):
        raise ModelError(f"{dst}: non-zero key bias, which openai-whisper cannot represent")
    return {
        f"{dst}.key.weight": key_weight,
        f"{dst}.value.weight": value_weight,
        f"{dst}.value.bias": value_bias,
    }


def _attention(v: dict[str, torch.Tensor], src: str, dst: str, cross: bool) -> dict[str, torch.Tensor]:
    """Self-attention fuses query/key/value in linear_0; cross-attention has query in linear_0, key/value in linear_1."""
    if cross:
        state = _linear(v, f"{src}/linear_0", f"{dst}.query")
        state |= _key_value(v[f"{src}/linear_1/weight"], v[f"{src}/linear_1/bias"], dst)
        out = "linear_2"
    else:
        weight, bias = v[f"{src}/linear_0/weight"], v[f"{src}/linear_0/bias"]
        n = weight.shape[0] // 3
        state = {f"{dst}.query.weight": weight[:n], f"{dst}.query.bias": bias[:n]}
        state |= _key_value(weight[n:], bias[n:], dst)
        out = "linear_1"
    # The layer norm before an attention is its sibling: attn -> attn_ln, cross_attn -> cross_attn_ln.
    return state | _linear(v, f"{src}/{out}", f"{dst}.out") | _layer_norm(v, f"{src}/layer_norm", f"{dst}_ln")


def _block(v: dict[str, torch.Tensor], src: str, dst: str, cross: bool) -> dict[str, torch.Tensor]:
    state = _attention(v, f"{src}/self_attention", f"{dst}.attn", cross=False)
    if cross:
        state |= _attention(v, f"{src}/attention", f"{dst}.cross_attn", cross=True)
    return (
        state
        | _linear(v, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
        | _linear(v, f"{src}/ffn/linear_1", f"{dst}.mlp.2")
        | _layer_norm(v, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    )


def _count_layers(v: dict[str, torch.Tensor], side: str) -> int:
    # "encoder/layer_norm" also starts with "encoder/layer_": match the number.
    pattern = re.compile(rf"{side}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for name in v if (m := pattern.match(name)))


def _openai_state_dict(v: dict[str, torch.Tensor]) -> tuple[dict[str, int], dict[str, torch.Tensor]]:
    """Map CTranslate2 Whisper variables to openai-whisper's ModelDimensions and state dict."""
    if any(name.endswith("_scale") for name in v):  # CTranslate2 stores a scale per quantized weight
        raise ModelError("weights are quantized (int8/int16): convert a float16 or float32 model")
    embedding = v["decoder/embeddings/weight"]
    if not torch.equal(v["decoder/projection/weight"], embedding):
        raise ModelError("the output projection is not tied to the token embedding, unlike openai-whisper")
    dims = {
        "n_mels": v["encoder/conv1/weight"].shape[1],
        "n_audio_ctx": v["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": v["encoder/conv1/weight"].shape[0],
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": _count_layers(v, "encoder"),
        "n_vocab": embedding.shape[0],
        "n_text_ctx": v["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": embedding.shape[1],
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": _count_layers(v, "decoder"),
    }
    state = {
        "encoder.positional_embedding": v["encoder/position_encodings/encodings"],
        "decoder.positional_embedding": v["decoder/position_encodings/encodings"],
        "decoder.token_embedding.weight": embedding,
    }
    state |= _linear(v, "encoder/conv1", "encoder.conv1") | _linear(v, "encoder/conv2", "encoder.conv2")
    state |= _layer_norm(v, "encoder/layer_norm", "encoder.ln_post")
    state |= _layer_norm(v, "decoder/layer_norm", "decoder.ln")
    for i in range(dims["n_audio_layer"]):
        state |= _block(v, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    for i in range(dims["n_text_layer"]):
        state |= _block(v, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    # Own storage per tensor, so torch.save writes no shared fused buffers.
    return dims, {name: tensor.clone() for name, tensor in state.items()}


def alignment_heads_dump(heads: Iterable[tuple[int, int]] | None, n_layers: int, n_heads: int) -> bytes:
    """Encode (layer, head) pairs as openai-whisper's base85 blob for Whisper.set_alignment_heads.

    Without pairs, the last half of the decoder layers (openai-whisper's and CTranslate2's default).
    """
    mask = np.zeros((n_layers, n_heads), dtype=bool)
    if heads is None:
        mask[n_layers // 2 :] = True
    else:
        for layer, head in heads:
            if not (0 <= layer < n_layers and 0 <= head < n_heads):
                raise ModelError(
                    f"alignment head ({layer}, {head}) is outside {n_layers} layers x {n_heads} heads"
                )
            mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def save_checkpoint(checkpoint: dict, out_path: Path) -> Path:
    """torch.save to a temporary file beside ``out_path``, then rename: never a partial file."""
    try:
        with atomic_target(out_path) as tmp:
            torch.save(checkpoint, tmp)
    except (OSError, RuntimeError) as e:  # not writable, disk full (torch reports some as RuntimeError)
        raise ModelError(f"cannot write the checkpoint: {e}", out_path) from e
    return out_path


def convert_ct2_to_openai(ct2_dir: Path, out_path: Path) -> Path:
    """Write an openai-whisper checkpoint converted from a CTranslate2 Whisper directory.

    The checkpoint also holds "alignment_heads" (from config.json) for Whisper.set_alignment_heads.
    """
    ct2_dir, out_path = Path(ct2_dir), Path(out_path)
    started = time.perf_counter()
    model_bin = ct2_dir / "model.bin"
    if not model_bin.is_file():
        raise ModelError("no model.bin: not a CTranslate2 model directory", ct2_dir)
    try:
        dims, state = _openai_state_dict(_read_ct2_model(model_bin))
    except KeyError as e:
        raise ModelError(f"variable {e} missing: not a Whisper model CTranslate2 wrote", model_bin) from e
    config_path = ct2_dir / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    heads = alignment_heads_dump(config.get("alignment_heads"), dims["n_text_layer"], dims["n_text_head"])
    save_checkpoint({"dims": dims, "model_state_dict": state, "alignment_heads": heads}, out_path)
    logger.info("converted %s to %s in %.1f s", ct2_dir, out_path, time.perf_counter() - started)
    return out_path
