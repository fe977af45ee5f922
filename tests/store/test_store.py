"""The model store: names, atomic writes, strict loading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from charlm import store
from charlm.errors import CorruptModelError, InvalidNameError, ModelNotFoundError, StoreEmptyError
from tests.conftest import random_model


@pytest.mark.parametrize("name", ["", "..", "../evil", "a/b", "a\\b", "/abs", ".hidden", "x" * 65, "default", "a b"])
def test_invalid_names_are_rejected(name):
    with pytest.raises(InvalidNameError):
        store.validate_name(name)


def test_round_trip(charlm_home):
    saved, weights = random_model("m1", "lstm", layers=2)
    assert saved.path == charlm_home / "models" / "m1"
    assert sorted(p.name for p in saved.path.iterdir()) == ["config.json", "history.csv", "weights.npz"]
    loaded = store.load_record("m1")
    assert loaded.config == saved.config
    assert loaded.vocabulary == saved.vocabulary
    assert loaded.history == saved.history
    assert loaded.val_perplexity == saved.val_perplexity
    back = store.load_weights(loaded)
    assert set(back) == set(weights)
    for k in weights:
        np.testing.assert_array_equal(back[k], weights[k])
    assert (saved.path / "history.csv").read_text().splitlines()[0] == "epoch,loss,val_perplexity,seconds"


def test_replacing_a_model_leaves_no_temporary_folders(charlm_home):
    random_model("m1")
    random_model("m1", "rnn")
    names = [p.name for p in (charlm_home / "models").iterdir() if p.name != ".locks"]
    assert names == ["m1"]
    assert store.load_record("m1").arch == "rnn"


def test_failed_save_leaves_nothing(charlm_home):
    saved, weights = random_model("ok")
    bad = dict(weights)
    bad["logits.1"] = np.zeros(3, np.float32)
    with pytest.raises(CorruptModelError):
        store.save_model("broken", saved, bad)
    assert [p.name for p in (charlm_home / "models").iterdir() if p.name != ".locks"] == ["ok"]


def visible(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_leftover_temp_folders_are_cleaned(charlm_home):
    random_model("m1")
    (charlm_home / "models" / ".tmp-half-0123abcd").mkdir()  # a save killed before it wrote anything
    random_model("m2")
    store.list_models()
    assert sorted(p.name for p in (charlm_home / "models").iterdir() if p.name != ".locks") == ["m1", "m2"]


def test_unknown_model(no_builtin):
    random_model("exists")
    with pytest.raises(ModelNotFoundError, match="no model named 'nope'.*exists"):
        store.load_record("nope")


def test_empty_store_has_no_default(no_builtin):
    with pytest.raises(StoreEmptyError, match="charlm-train fit"):
        store.resolve(None)


def test_newest_model_is_the_default(no_builtin):
    random_model("old")
    record, _ = random_model("new")
    cfg = json.loads((record.path / "config.json").read_text())
    cfg["created"] = "2999-01-01T00:00:00+00:00"
    (record.path / "config.json").write_text(json.dumps(cfg))
    assert store.resolve(None).name == "new"


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: (p / "config.json").write_text("{not json"),
        lambda p: (p / "config.json").unlink(),
        lambda p: (p / "weights.npz").write_bytes(b"garbage"),
        lambda p: (p / "weights.npz").unlink(),
    ],
)
def test_corrupt_model_files_raise_corrupt_model_error(damage):
    record, _ = random_model("m")
    damage(record.path)
    with pytest.raises(CorruptModelError):
        store.load_weights(store.load_record("m"))


def test_unknown_config_keys_are_rejected():
    record, _ = random_model("m")
    cfg = json.loads((record.path / "config.json").read_text())
    cfg["config"]["arch"]["evil"] = "__import__('os')"
    (record.path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CorruptModelError, match="unknown lstm config keys: evil|unknown gru config keys: evil"):
        store.load_record("m")


def test_pickled_weights_are_never_loaded(tmp_path):
    record, weights = random_model("m")
    obj = np.empty(1, dtype=object)
    obj[0] = {"x": 1}
    np.savez(record.path / "weights.npz", **{**weights, "embed.0": obj})
    with pytest.raises(CorruptModelError):
        store.load_weights(store.load_record("m"))


def test_wrong_shapes_are_rejected():
    record, weights = random_model("m")
    np.savez(record.path / "weights.npz", **{**weights, "rnn_0.1": np.zeros((3, 3), np.float32)})
    with pytest.raises(CorruptModelError, match="rnn_0.1"):
        store.load_weights(store.load_record("m"))


def test_remove(charlm_home):
    random_model("m")
    store.remove_model("m")
    assert visible(charlm_home / "models") == []
    with pytest.raises(ModelNotFoundError):
        store.remove_model("m")


def test_builtin_cannot_be_removed():
    with pytest.raises(InvalidNameError, match="built-in"):
        store.remove_model("default")
