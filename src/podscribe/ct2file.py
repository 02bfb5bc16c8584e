"""CTranslate2 model.bin files read and written in numpy, and Whisper's int8 copy for the CPU.

The format is the one ctranslate2's ``specs/model_spec.py`` writes (binary version 6): the spec's
name and revision, then named little-endian arrays, then aliases (one variable stored under two
names). faster-whisper's Whisper weights ship as float16; on the CPU, CTranslate2 quantizes their
linear and embedding weights to int8 each time it loads them (0.25-0.3 s for ``base``). A copy
stored already quantized (``int8_weights``; ``weights.cpu_int8`` keeps it in the cache) loads in
about 0.1 s and computes the same outputs to the bit: each weight row is scaled by 127 over its
largest magnitude and rounded to the nearest even integer, as ctranslate2's own converter does, and
the convolutions stay in floating point, as the runtime keeps them (BENCHMARKS.md, "Whisper's
weights stored in int8 for the CPU").
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import ModelError

BINARY_VERSION = 6
# ctranslate2's DataType enum order (include/ctranslate2/types.h); bfloat16 is read as its raw 16 bits.
DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, np.uint16)
FLOAT32, FLOAT16, BFLOAT16 = 0, 4, 5  # their codes


@dataclass
class Ct2Model:
    """The contents of a model.bin: arrays by variable name, and aliases (name -> stored name)."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str] = field(default_factory=dict)
    dtypes: dict[str, int] = field(default_factory=dict)  # type code by variable (bfloat16 kept apart)


class _Reader:
    """Sequential little-endian reader over the bytes of a model.bin."""

    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.offset = 0

    def unpack(self, fmt: str) -> int:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str:
        size = self.unpack("H")  # includes the trailing NUL
        text = bytes(self.data[self.offset : self.offset + size - 1]).decode("utf-8")
        self.offset += size
        return text

    def array(self, shape: list[int], code: int, num_bytes: int) -> np.ndarray:
        dtype = np.dtype(DTYPES[code])
        if num_bytes != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{num_bytes} bytes for shape {shape}")
        array = np.frombuffer(self.data, dtype, num_bytes // dtype.itemsize, self.offset)
        self.offset += num_bytes
        return array.reshape(shape)


def read_model(path: str | os.PathLike[str]) -> Ct2Model:
    """Parse a model.bin; ``ModelError`` naming the file when it is not one this module can read."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            if not os.fstat(f.fileno()).st_size:
                raise ModelError("truncated or corrupt CTranslate2 model (empty file)", path)
            # mapped copy-on-write: arrays are read when used (a name or a shape costs one page) and writable
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    except OSError as e:
        raise ModelError(f"cannot read the CTranslate2 model ({e.strerror or e})", path) from e
    reader = _Reader(data)
    try:
        version = reader.unpack("I")
        if version != BINARY_VERSION:
            raise ModelError(f"CTranslate2 binary version {version} is not supported (expected {BINARY_VERSION})",
                             path)
        model = Ct2Model(reader.string(), reader.unpack("I"), {})
        for _ in range(reader.unpack("I")):
            name = reader.string()
            shape = [reader.unpack("I") for _ in range(reader.unpack("B"))]
            code = reader.unpack("B")
            model.variables[name] = reader.array(shape, code, reader.unpack("I"))
            model.dtypes[name] = code
        for _ in range(reader.unpack("I")):
            alias = reader.string()
            model.aliases[alias] = reader.string()
        if any(name not in model.variables for name in model.aliases.values()):
            raise ValueError("an alias names no stored variable")
    except (struct.error, IndexError, ValueError, UnicodeDecodeError) as e:
        raise ModelError(f"truncated or corrupt CTranslate2 model ({e})", path) from e
    return model


def _write_string(out: BinaryIO, text: str) -> None:
    encoded = text.encode("utf-8")
    out.write(struct.pack("<H", len(encoded) + 1) + encoded + b"\0")


def write_model(model: Ct2Model, out: BinaryIO) -> None:
    """Write ``model`` as a model.bin that ctranslate2 loads."""
    out.write(struct.pack("<I", BINARY_VERSION))
    _write_string(out, model.spec)
    out.write(struct.pack("<II", model.revision, len(model.variables)))
    for name, array in model.variables.items():
        code = model.dtypes.get(name, DTYPES.index(array.dtype.type))
        _write_string(out, name)
        out.write(struct.pack("<B", array.ndim) + struct.pack(f"<{array.ndim}I", *array.shape))
        data = np.ascontiguousarray(array, dtype=np.dtype(DTYPES[code]).newbyteorder("<"))
        out.write(struct.pack("<BI", code, data.nbytes))
        out.write(data.tobytes())
    out.write(struct.pack("<I", len(model.aliases)))
    for alias, name in model.aliases.items():
        _write_string(out, alias)
        _write_string(out, name)


def quantize_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and their float32 scales: each row times 127 over its largest magnitude, rounded half
    to even (ctranslate2's converter; an all-zero row gets scale 1)."""
    value = weight.astype(np.float32)
    amax = np.abs(value).max(axis=1)
    amax[amax == 0] = 127.0
    amax = np.maximum(amax, np.float32(127) / np.finfo(np.float32).max)
    scale = (np.float32(127.0) / amax).astype(np.float32)
    return np.rint(value * scale[:, None]).astype(np.int8), scale


def _as_float32(array: np.ndarray, code: int) -> np.ndarray:
    if code == BFLOAT16:  # the high half of a float32
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(np.float32)


def int8_weights(model: Ct2Model) -> Ct2Model:
    """The model as ctranslate2 holds it on the CPU with compute type int8: every 2-D ``weight``
    (linear layers, token embedding) in int8 with a ``weight_scale`` per row, every other floating
    array (convolutions, norms, biases, positions) in float32. A model that already has scales is
    returned as it is."""
    if any(name.endswith("_scale") for name in model.variables):
        return model
    out = Ct2Model(model.spec, model.revision, {}, dict(model.aliases))
    for name, array in model.variables.items():
        code = model.dtypes.get(name, DTYPES.index(array.dtype.type))
        if name.endswith("/weight") and array.ndim == 2 and code in (FLOAT32, FLOAT16, BFLOAT16):
            out.variables[name], out.variables[f"{name}_scale"] = quantize_rows(_as_float32(array, code))
        elif code in (FLOAT16, BFLOAT16):
            out.variables[name] = _as_float32(array, code)
        else:
            out.variables[name] = array
        out.dtypes[name] = DTYPES.index(out.variables[name].dtype.type)
    return out
