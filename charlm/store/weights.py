"""Weights as named float32 arrays in a plain ``.npz`` (an uncompressed zip of ``.npy`` files).

Reading trusts nothing in the file: the zip directory and each array's
``.npy`` header are checked against the layout the model's config implies
(names, dtype, shape, exact byte size) *before* any array data is read or
memory allocated, so a file that declares a 3 GB array is rejected in
microseconds, and at most the bytes the layout needs are ever inflated.
Pickles are never loaded.
"""

from __future__ import annotations

import io
import math
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from charlm import archs
from charlm.archs.base import ArchConfig, Layout
from charlm.config import ModelConfig
from charlm.errors import CorruptModelError

#: Dtypes a weights file may hold (float32 is what charlm writes).
_DTYPES = (np.dtype("<f4"), np.dtype("<f8"), np.dtype("<f2"))
_NPY_HEADER_MAX = 64 * 1024


def layout_bytes(layout: Layout) -> int:
    """float32 bytes the layout needs."""
    return sum(4 * math.prod(shape) for shape in layout.values())


def write_weights(weights: Mapping[str, np.ndarray]) -> bytes:
    """The ``.npz`` bytes of ``weights`` as float32."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v, dtype=np.float32) for k, v in weights.items()})
    return buf.getvalue()


def check_arrays(weights: Mapping[str, np.ndarray], layout: Layout) -> None:
    """In-memory weights (about to be saved) match the layout.

    Raises:
        CorruptModelError: names or shapes differ.
    """
    if set(weights) != set(layout):
        missing = sorted(set(layout) - set(weights))
        extra = sorted(set(weights) - set(layout))
        raise CorruptModelError(f"weights do not match the config (missing {missing}, unexpected {extra})")
    for key, shape in layout.items():
        if tuple(weights[key].shape) != shape:
            raise CorruptModelError(f"weight {key} has shape {tuple(weights[key].shape)}, expected {shape}")


def read_weights(file: Path, layout: Layout, who: str) -> dict[str, np.ndarray]:
    """Read and check the arrays of ``file`` against ``layout``.

    Args:
        file: the ``weights.npz``.
        layout: expected names and shapes (from the architecture and vocabulary).
        who: how messages name the model ("model 'x'").

    Raises:
        CorruptModelError: naming the model and what is wrong.
    """
    try:
        with zipfile.ZipFile(file) as archive:
            members = _check_directory(archive, layout, who)
            out = {}
            for key, info in members.items():
                out[key] = _read_member(archive, info, layout[key], key, who)
    except CorruptModelError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise CorruptModelError(f"{who}: weights.npz is not a readable archive ({exc})") from None
    return out


def _check_directory(archive: zipfile.ZipFile, layout: Layout, who: str) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    names = [i.filename for i in infos]
    if len(names) != len(set(names)):
        raise CorruptModelError(f"{who}: weights.npz lists an array twice")
    members = {}
    for info in infos:
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if key not in layout:
            raise CorruptModelError(f"{who}: weights.npz has an unexpected array {info.filename!r}")
        members[key] = info
    missing = sorted(set(layout) - set(members))
    if missing:
        raise CorruptModelError(f"{who}: weights.npz lacks the arrays {', '.join(missing)}")
    for key, info in members.items():
        limit = _NPY_HEADER_MAX + 8 * math.prod(layout[key])
        if info.file_size > limit:
            raise CorruptModelError(
                f"{who}: weights.npz declares {info.file_size:,} bytes for {key}, "
                f"more than its shape {layout[key]} can need"
            )
        if info.flag_bits & 0x1:
            raise CorruptModelError(f"{who}: weights.npz is encrypted")
    return members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...], key: str,
                 who: str) -> np.ndarray:
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(fh, max_header_size=_NPY_HEADER_MAX)
        elif version in ((2, 0), (3, 0)):
            header = np.lib.format.read_array_header_2_0(fh, max_header_size=_NPY_HEADER_MAX)
        else:
            raise CorruptModelError(f"{who}: weight {key} has an unknown .npy version {version}")
        got_shape, fortran, dtype = header
        if dtype not in _DTYPES:
            raise CorruptModelError(f"{who}: weight {key} has dtype {dtype}, not floating point")
        if tuple(got_shape) != shape:
            raise CorruptModelError(f"{who}: weight {key} has shape {tuple(got_shape)}, expected {shape}")
        need = dtype.itemsize * math.prod(shape)
        data = fh.read(need)
        if len(data) != need:
            raise CorruptModelError(f"{who}: weight {key} is truncated ({len(data)} of {need} bytes)")
        if fh.read(1):
            raise CorruptModelError(f"{who}: weight {key} has trailing bytes")
    arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise CorruptModelError(f"{who}: weight {key} has NaN or inf")
    return arr


def weight_layout(config: ModelConfig | ArchConfig, vocab_size: int) -> Layout:
    """The array names and shapes a config implies (the architecture's layout)."""
    arch = config.arch if isinstance(config, ModelConfig) else config
    return archs.of(arch).layout(arch, vocab_size)
