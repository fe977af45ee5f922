"""Attacks on the model store's files: one damaged or crafted model folder never breaks the store.

Every case: the damaged model is listed as broken with its reason, naming it is a one-line error
(exit 2), the other models keep working, the default model skips it, and `rm` removes it.
"""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from charlm import store
from charlm.errors import CorruptModelError
from charlm.trainer.cli import cli
from tests.conftest import random_model
from tests.hostile.conftest import one_line_error


def _config(path, change):
    data = json.loads((path / "config.json").read_text())
    change(data)
    (path / "config.json").write_text(json.dumps(data))


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(data):
        target = data
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return lambda p: _config(p, change)


def _raw_config(text: str | bytes):
    def damage(p):
        (p / "config.json").write_bytes(text if isinstance(text, bytes) else text.encode())

    return damage


def _npz(p, **changes):
    with np.load(p / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(p / "weights.npz", **arrays)


def _zip_bytes(p, transform):
    raw = (p / "weights.npz").read_bytes()
    (p / "weights.npz").write_bytes(transform(raw))


def _flip_data_byte(raw: bytes) -> bytes:
    buf = bytearray(raw)
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        info = zf.infolist()[0]
    start = info.header_offset + 30 + len(info.filename) + 200  # inside the first array's data
    buf[start] ^= 0xFF
    return bytes(buf)


def _header_declaring(shape: tuple[int, ...]) -> bytes:
    """An .npy header that declares a huge float32 array, followed by a few bytes."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 64


def _huge_array(p):
    """Every array as saved, but ``logits.1`` declares 3 GiB of float32."""
    with np.load(p / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    with zipfile.ZipFile(p / "weights.npz", "w") as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.save(buf, array)
            zf.writestr(f"{name}.npy", _header_declaring((3 * 2**30 // 4,)) if name == "logits.1" else buf.getvalue())


def _duplicate_member(p):
    raw = io.BytesIO()
    with np.load(p / "weights.npz") as npz, zipfile.ZipFile(raw, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we are making
        for k in npz.files:
            buf = io.BytesIO()
            np.save(buf, npz[k])
            zf.writestr(f"{k}.npy", buf.getvalue())
        zf.writestr(f"{npz.files[0]}.npy", b"again")
    (p / "weights.npz").write_bytes(raw.getvalue())


def _pickle(p):
    obj = np.empty(2, dtype=object)
    obj[:] = [{"x": 1}, print]
    _npz(p, **{"logits.1": obj})


CONFIG_DAMAGE = {
    "not json": _raw_config("{not json"),
    "empty file": _raw_config(""),
    "a JSON list": _raw_config("[1, 2, 3]"),
    "a JSON string": _raw_config('"model"'),
    "null": _raw_config("null"),
    "nested 100000 deep": _raw_config("[" * 100_000 + "]" * 100_000),
    "not UTF-8": _raw_config(b"\xff\xfe{\x00"),
    "unknown format": _set("format", 9),
    "format true": _set("format", True),
    "units 1e308": _set("config", "arch", "units", 1e308),
    "units huge int": _set("config", "arch", "units", 10**30),
    "units negative": _set("config", "arch", "units", -5),
    "units a string": _set("config", "arch", "units", "192"),
    "units a bool": _set("config", "arch", "units", True),
    "layers absurd": _set("config", "arch", "layers", 10**6),
    "unknown architecture": _set("config", "arch", "name", "evil"),
    "arch not an object": _set("config", "arch", [1]),
    "lr NaN": _set("config", "training", "learning_rate", float("nan")),
    "lr infinite": _set("config", "training", "learning_rate", float("inf")),
    "seed negative": _set("config", "training", "seed", -1),
    "unknown training key": _set("config", "training", "__class__", 1),
    "normalization not bools": _set("config", "normalization", "lowercase", "yes"),
    "vocabulary not a list": _set("vocabulary", "chars", "abc"),
    "vocabulary of strings": _set("vocabulary", "chars", ["ab", "c"]),
    "vocabulary unsorted": _set("vocabulary", "chars", ["z", "a"]),
    "vocabulary huge": _set("vocabulary", "chars", [chr(i) for i in range(0x4E00, 0x4E00 + 250_000)]),
    "perplexity NaN": _set("metrics", "val_perplexity", float("nan")),
    "perplexity negative": _set("metrics", "val_perplexity", -3.0),
    "perplexity a string": _set("metrics", "val_perplexity", "low"),
    "metrics missing": _set("metrics", None),
    "best epoch a float": _set("metrics", "best_epoch", 1.5),
    "history not a list": _set("history", {"a": 1}),
    "history entry absurd": _set("history", [{"epoch": -3, "loss": 1.0, "val_perplexity": 2.0, "seconds": 1.0}]),
    "separator two chars": _set("corpus", "separator", "ab"),
    "sources not a list": _set("corpus", "sources", 5),
    "status unknown": _set("status", "hacked"),
    "created a number": _set("created", 12),
    "versions not strings": _set("versions", {"charlm": 1}),
    "implausibly large": _raw_config(" " * (17 * 2**20)),
    "config.json missing": lambda p: (p / "config.json").unlink(),
    "config.json a folder": lambda p: ((p / "config.json").unlink(), (p / "config.json").mkdir()),
}

WEIGHTS_DAMAGE = {
    "garbage": lambda p: (p / "weights.npz").write_bytes(b"garbage"),
    "empty": lambda p: (p / "weights.npz").write_bytes(b""),
    "truncated zip": lambda p: _zip_bytes(p, lambda raw: raw[: len(raw) // 2]),
    "bad CRC": lambda p: _zip_bytes(p, _flip_data_byte),
    "missing array": lambda p: _npz(p, **{"logits.1": None}),
    "extra array": lambda p: _npz(p, extra=np.zeros(3, np.float32)),
    "duplicate array": _duplicate_member,
    "integer dtype": lambda p: _npz(p, **{"logits.1": np.zeros(len(store.load_record(p.name).vocabulary), np.int32)}),
    "pickled objects": _pickle,
    "wrong shape": lambda p: _npz(p, **{"rnn_0.1": np.zeros((3, 3), np.float32)}),
    "NaN values": lambda p: _npz(p, **{"logits.1": np.full(len(store.load_record(p.name).vocabulary), np.nan,
                                                              np.float32)}),
    "declares a 3 GB array": _huge_array,
    "far larger than its layout": lambda p: (p / "weights.npz").write_bytes(b"PK" + b"\0" * 3_000_000),
    "weights.npz missing": lambda p: (p / "weights.npz").unlink(),
    "weights.npz a folder": lambda p: ((p / "weights.npz").unlink(), (p / "weights.npz").mkdir()),
}


def invoke(*args):
    return CliRunner().invoke(cli, list(args))



@pytest.fixture
def damaged(request, no_builtin):
    good, _ = random_model("good", "gru", seed=1)
    bad, _ = random_model("bad", "lstm", seed=2)
    request.param(bad.path)
    return good, bad


@pytest.mark.parametrize("damaged", list(CONFIG_DAMAGE.values()), ids=list(CONFIG_DAMAGE), indirect=True)
def test_a_damaged_config_is_listed_as_broken_and_breaks_nothing_else(damaged):
    entries = {e.name: e for e in store.scan()}
    assert entries["bad"].broken and "'bad'" in entries["bad"].error
    assert store.default_choice()[0].name == "good"  # the default skips it...
    assert [e.name for e in store.default_choice()[1]] in ([], ["bad"])  # ...and says so when it was newer
    listed = invoke("list")
    assert listed.exit_code == 0 and "bad" in listed.output and "broken" in listed.output
    assert [m["name"] for m in json.loads(invoke("list", "--json").output) if m.get("broken")] == ["bad"]
    one_line_error(invoke("show", "bad"), "'bad'")
    assert invoke("show", "good").exit_code == 0
    assert invoke("rm", "bad").exit_code == 0
    assert [e.name for e in store.scan()] == ["good"]


@pytest.mark.parametrize("damaged", list(WEIGHTS_DAMAGE.values()), ids=list(WEIGHTS_DAMAGE), indirect=True)
def test_damaged_weights_are_a_one_line_error_naming_the_model(damaged, tiny_srt):
    with pytest.raises(CorruptModelError, match="'bad'"):
        store.load_weights(store.load_record("bad"))
    one_line_error(invoke("eval", "bad", str(tiny_srt)), "'bad'")
    assert invoke("eval", "good", str(tiny_srt)).exit_code == 0
    assert invoke("rm", "bad").exit_code == 0


def test_a_3_gb_array_is_rejected_before_anything_is_inflated(no_builtin):
    bad, _ = random_model("bad", "lstm")
    _huge_array(bad.path)
    record = store.load_record("bad")
    tracemalloc.start()
    try:
        with pytest.raises(CorruptModelError, match="shape"):
            store.load_weights(record)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # the header was read; not one byte of the declared 3 GB
