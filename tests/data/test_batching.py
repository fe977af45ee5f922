"""Training chunks and batches: contiguous, shifted targets, reproducible, lazy, shardable, leak-free."""

from __future__ import annotations

import numpy as np
import pytest

from charlm.data.batching import Batches, epoch_batches, epoch_chunks, skip_epoch, stream_batches
from charlm.data.corpus import Corpus, load_corpus
from charlm.data.normalize import Normalization
from charlm.data.split import split_corpus
from charlm.data.vocab import Vocabulary


def starts_of(chunks: np.ndarray) -> list[int]:
    return [int(c[0]) for c in chunks]


# --------------------------------------------------------------------- chunks


def test_chunks_are_contiguous_slices_of_length_seq_plus_one():
    ids = np.arange(100)
    chunks = epoch_chunks(ids, 10, np.random.default_rng(1))
    assert chunks.shape[1] == 11
    for chunk in chunks:
        assert chunk.tolist() == list(range(int(chunk[0]), int(chunk[0]) + 11))


def test_chunk_starts_follow_one_offset_and_stride():
    ids = np.arange(100)
    for seed in range(20):
        chunks = epoch_chunks(ids, 10, np.random.default_rng(seed))
        starts = sorted(starts_of(chunks))
        offset = starts[0]
        assert 0 <= offset <= 10
        count = (100 - offset - 1) // 10
        assert starts == [offset + 10 * k for k in range(count)]


def test_chunks_use_ids_values_not_positions():
    ids = np.array([5, 3, 9, 1, 7, 2, 8, 4, 6, 0, 11, 10], dtype=np.int32)
    chunks = epoch_chunks(ids, 3, np.random.default_rng(0))
    text = ids.tolist()
    for chunk in chunks:
        c = chunk.tolist()
        assert any(text[i : i + 4] == c for i in range(len(text) - 3))
    assert chunks.dtype == np.int32


def test_chunks_stay_inside_the_given_ids():
    full = np.arange(1000)
    train = full[:700]  # a view: the rest of the array must never be read
    for seed in range(30):
        chunks = epoch_chunks(train, 32, np.random.default_rng(seed))
        assert int(chunks.max()) <= 699
        assert int(chunks.min()) >= 0


def test_minimum_length_gives_exactly_one_chunk():
    ids = np.arange(11)
    chunks = epoch_chunks(ids, 10, np.random.default_rng(0))
    assert chunks.tolist() == [list(range(11))]


def test_too_few_ids_raises():
    with pytest.raises(ValueError, match="need at least 11 ids, got 10"):
        epoch_chunks(np.arange(10), 10, np.random.default_rng(0))


def test_offsets_and_shuffles_change_across_epochs_of_one_rng():
    ids = np.arange(500)
    rng = np.random.default_rng(123)
    epochs = [starts_of(epoch_chunks(ids, 5, rng)) for _ in range(100)]
    offsets = {min(s) for s in epochs}
    assert set(range(5)) <= offsets <= set(range(6))
    # The order of chunks is shuffled: every epoch differs and none is sorted.
    assert len({tuple(s) for s in epochs}) == 100
    assert all(s != sorted(s) for s in epochs)


def test_same_seed_same_chunks():
    ids = np.arange(300)
    a_rng, b_rng = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(5):
        a = epoch_chunks(ids, 8, a_rng)
        b = epoch_chunks(ids, 8, b_rng)
        assert np.array_equal(a, b)
    c = epoch_chunks(ids, 8, np.random.default_rng(8))
    d = epoch_chunks(ids, 8, np.random.default_rng(7))
    assert not np.array_equal(c, d)


# -------------------------------------------------------------------- batches


def test_inputs_and_targets_are_shifted_by_one():
    ids = np.arange(200)
    batches = epoch_batches(ids, 10, 4, np.random.default_rng(3))
    for inputs, targets in batches:
        assert inputs.shape == (4, 10)
        assert targets.shape == (4, 10)
        assert np.array_equal(inputs[:, 1:], targets[:, :-1])
        assert np.array_equal(targets, inputs + 1)


def test_batches_are_the_epoch_chunks_split_in_order():
    ids = np.arange(200)
    chunks = epoch_chunks(ids, 10, np.random.default_rng(5))
    batches = epoch_batches(ids, 10, 4, np.random.default_rng(5))
    assert len(batches) == len(chunks) // 4
    for b, (inputs, targets) in enumerate(batches):
        block = chunks[4 * b : 4 * b + 4]
        assert np.array_equal(inputs, block[:, :-1])
        assert np.array_equal(targets, block[:, 1:])


def test_trailing_partial_batch_dropped():
    ids = np.arange(101)  # offset 0 -> 10 chunks of 10; any offset -> 9 or 10
    for seed in range(10):
        chunks = epoch_chunks(ids, 10, np.random.default_rng(seed))
        batches = epoch_batches(ids, 10, 4, np.random.default_rng(seed))
        assert len(batches) == 2
        assert [inp.shape for inp, _ in batches] == [(4, 10), (4, 10)]
        assert len(chunks) in (9, 10)


def test_only_batch_kept_even_if_partial():
    ids = np.arange(40)
    batches = epoch_batches(ids, 10, 8, np.random.default_rng(0))
    assert len(batches) == 1
    inputs, targets = batches[0]
    assert inputs.shape[0] in (2, 3)
    assert inputs.shape[1] == 10
    assert np.array_equal(targets, inputs + 1)


def test_each_target_position_used_at_most_once_per_epoch():
    ids = np.arange(1000)
    rng = np.random.default_rng(11)
    for _ in range(50):
        batches = epoch_batches(ids, 16, 8, rng)
        targets = np.concatenate([t.ravel() for _, t in batches])
        assert len(targets) == len(set(targets.tolist()))
        inputs = np.concatenate([i.ravel() for i, _ in batches])
        assert len(inputs) == len(set(inputs.tolist()))


def test_same_seed_same_batches():
    ids = np.arange(400)
    a = epoch_batches(ids, 12, 3, np.random.default_rng(42))
    b = epoch_batches(ids, 12, 3, np.random.default_rng(42))
    assert len(a) == len(b)
    for (ai, at), (bi, bt) in zip(a, b, strict=True):
        assert np.array_equal(ai, bi)
        assert np.array_equal(at, bt)


# ----------------------------------------------------- lazy, as the lists were


def listed_epoch_batches(ids, seq_length, batch_size, rng):
    """The epoch as charlm made it before batches were lazy: the whole epoch copied."""
    n = len(ids)
    offset = int(rng.integers(0, min(seq_length, n - (seq_length + 1)) + 1))
    starts = offset + seq_length * np.arange((n - offset - 1) // seq_length)
    rng.shuffle(starts)
    chunks = ids[starts[:, None] + np.arange(seq_length + 1)]
    n_batches = max(len(chunks) // batch_size, 1)
    return [(c[:, :-1], c[:, 1:]) for c in (chunks[b * batch_size : (b + 1) * batch_size] for b in range(n_batches))]


def listed_stream_batches(ids, seq_length, batch_size, rng):
    n = len(ids)
    offset = int(rng.integers(0, min(seq_length, n - 1 - batch_size * seq_length) + 1))
    stream_len = (n - offset - 1) // batch_size
    starts = offset + stream_len * np.arange(batch_size)
    windows = (ids[starts[:, None] + t * seq_length + np.arange(seq_length + 1)]
               for t in range(stream_len // seq_length))
    return [(w[:, :-1], w[:, 1:]) for w in windows]


def assert_same_batches(lazy: Batches, listed: list) -> None:
    assert len(lazy) == len(listed)
    for (li, lt), (ri, rt) in zip(lazy, listed, strict=True):
        assert li.dtype == lt.dtype == np.int32
        assert np.array_equal(li, ri) and np.array_equal(lt, rt)


@pytest.mark.parametrize(("make", "listed"), [(epoch_batches, listed_epoch_batches),
                                              (stream_batches, listed_stream_batches)], ids=["shuffled", "stateful"])
def test_lazy_batches_are_the_listed_batches_and_draw_the_same_numbers(make, listed):
    ids = np.random.default_rng(0).integers(0, 200, size=3001).astype(np.uint8)  # small unsigned ids
    for seed, seq_length, batch_size in [(0, 10, 4), (1, 16, 8), (2, 7, 3), (3, 64, 16), (4, 3, 1)]:
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(3):  # epochs drawn one after the other from one generator
            assert_same_batches(make(ids, seq_length, batch_size, a), listed(ids.astype(np.int32), seq_length,
                                                                             batch_size, b))
        assert a.random() == b.random()


@pytest.mark.parametrize("stateful", [False, True])
def test_skip_epoch_draws_what_an_epoch_draws(stateful):
    ids = np.arange(5000)
    make = stream_batches if stateful else epoch_batches
    made, skipped = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(4):
        make(ids, 12, 6, made)
        skip_epoch(len(ids), 12, 6, skipped, stateful=stateful)
    assert_same_batches(make(ids, 12, 6, skipped), [tuple(b) for b in make(ids, 12, 6, made)])


def test_a_slice_of_batches_is_batches():
    ids = np.arange(500)
    batches = epoch_batches(ids, 10, 4, np.random.default_rng(0))
    head = batches[:3]
    assert isinstance(head, Batches) and len(head) == 3
    assert head.targets == 3 * 4 * 10 == sum(t.size for _, t in head)
    assert all(np.array_equal(x, y) for (x, _), (y, _) in zip(head, list(batches)[:3], strict=True))
    assert np.array_equal(batches[-1][0], list(batches)[-1][0])


def test_an_epoch_never_holds_a_copy_of_the_corpus():
    import tracemalloc

    ids = np.random.default_rng(0).integers(0, 100, size=2_000_000).astype(np.uint8)
    seq_length, batch_size = 50, 8
    tracemalloc.start()
    try:
        batches = epoch_batches(ids, seq_length, batch_size, np.random.default_rng(0))
        seen = sum(int(t.size) for _, t in batches)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen >= len(ids) - seq_length * (batch_size + 2)
    # 4 bytes of starts per 50-id chunk plus a batch in hand: about 2% of the ids' one byte
    # per character, where a copied epoch costs 4 bytes per character (int32).
    assert peak < len(ids) * 4 // seq_length + 100_000


# ------------------------------------------------------------------- shards


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_shards_partition_the_global_epoch(workers):
    ids = np.arange(4000)
    per_worker = 5
    global_batches = epoch_batches(ids, 10, workers * per_worker, np.random.default_rng(3))
    # Every worker draws from its own generator with the same seed.
    shards = [epoch_batches(ids, 10, workers * per_worker, np.random.default_rng(3)).shard(w, workers)
              for w in range(workers)]
    assert {len(s) for s in shards} == {len(global_batches)}
    for step, (x, y) in enumerate(global_batches):
        parts = [shard[step] for shard in shards]
        assert all(px.shape == (per_worker, 10) for px, _ in parts)
        # The workers' rows of one step, in worker order, are the global batch.
        assert np.array_equal(np.concatenate([px for px, _ in parts]), x)
        assert np.array_equal(np.concatenate([py for _, py in parts]), y)
    starts = np.concatenate([s.starts.ravel() for s in shards])
    assert len(set(starts.tolist())) == len(starts) == global_batches.starts.size


def test_sharded_stateful_rows_continue_from_batch_to_batch():
    ids = np.arange(3000)
    for w in range(2):
        shard = stream_batches(ids, 8, 6, np.random.default_rng(1)).shard(w, 2)
        assert shard.rows == 3
        for (x0, _), (x1, _) in zip(shard, shard[1:], strict=False):
            assert np.array_equal(x1[:, 0], x0[:, -1] + 1)


def test_a_single_partial_batch_is_shared_equally():
    ids = np.arange(71)  # 6 or 7 chunks of 10, fewer than 2 workers x 4 rows
    shards = [epoch_batches(ids, 10, 8, np.random.default_rng(0)).shard(w, 2) for w in range(2)]
    assert [len(s) for s in shards] == [1, 1]
    assert shards[0].rows == shards[1].rows == 3
    with pytest.raises(ValueError, match="3 workers need at least 3 chunks"):
        epoch_batches(np.arange(25), 10, 8, np.random.default_rng(0)).shard(0, 3)
    with pytest.raises(ValueError, match="worker must be in 0..1"):
        epoch_batches(ids, 10, 8, np.random.default_rng(0)).shard(2, 2)


# ----------------------------------------------------------------- no leakage


def test_no_training_batch_ever_sees_validation_text(tmp_path):
    # Training documents use only letters, validation documents only digits, so a
    # single id from the validation tail in a batch would show a leak.
    letters = "abcdefgh"
    train_docs = ["".join(letters[(i * 3 + j * 5) % len(letters)] for j in range(29)) + "." for i in range(24)]
    val_docs = ["".join(str((i + j) % 10) for j in range(30)) for i in range(6)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(train_docs + val_docs) + "\n", encoding="utf-8")

    corpus = load_corpus([path], Normalization(lowercase=False))
    assert corpus.documents == tuple(train_docs + val_docs)
    # 30 documents of 30 chars: target 0.2 * 929 = 185.8 -> the last 6 documents.
    split = split_corpus(corpus, 0.2, min_train_chars=17)
    assert split.by == "documents"
    assert split.train == "\n".join(train_docs)
    assert split.val == "\n".join(val_docs)

    vocab = Vocabulary.from_text(corpus.text)
    train_ids = vocab.encode(split.train).ids
    val_only = {vocab.chars.index(d) for d in "0123456789"}
    assert len(val_only) == 10

    rng = np.random.default_rng(0)
    seen_targets: set[int] = set()
    for _ in range(200):
        for inputs, targets in epoch_batches(train_ids, 16, 4, rng):
            assert val_only.isdisjoint(inputs.ravel().tolist())
            assert val_only.isdisjoint(targets.ravel().tolist())
            seen_targets.update(targets.ravel().tolist())
    # Not vacuous: training batches did cover every training character.
    assert seen_targets == {vocab.chars.index(c) for c in set(split.train)}


def test_no_training_chunk_reaches_past_the_split_point():
    # Character split: positions stand for characters; validation starts at cut.
    text = "".join(chr(ord("a") + i % 26) for i in range(400))
    corpus = Corpus((text,), ("x",), Normalization())
    split = split_corpus(corpus, 0.25, min_train_chars=33)
    assert split.by == "characters"
    cut = len(split.train)
    assert cut == 300
    positions = np.arange(len(text))
    rng = np.random.default_rng(9)
    for _ in range(100):
        for inputs, targets in epoch_batches(positions[:cut], 32, 2, rng):
            assert int(targets.max()) < cut
            assert int(inputs.max()) < cut - 1
