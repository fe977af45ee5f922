"""Training: learning beats the unigram baseline, caching, Ctrl-C, resume, atomicity."""

from __future__ import annotations

import pytest

from charlm import store
from charlm.data import load_corpus
from charlm.errors import ConfigError, CorpusError
from charlm.trainer.fit import BatchEnd, EpochEnd, FitFinished, FitStarted, fit
from tests.conftest import tiny_config

TINY_FIELDS = dict(units=32, layers=1, embedding=8, seq_length=32, batch_size=8, learning_rate=1e-2, max_epochs=6,
                   patience=0, dropout=0.0)


def tiny(arch: str = "gru", **changes):
    return tiny_config(arch, **{**TINY_FIELDS, **changes})


TINY = tiny()


def run(corpus, config, name="tiny", **kw):
    events = list(fit(corpus, config, name, **kw))
    return events, events[-1]


def test_a_tiny_model_beats_the_unigram_baseline(tiny_srt):
    corpus = load_corpus([tiny_srt])
    events, done = run(corpus, TINY)
    started = next(e for e in events if isinstance(e, FitStarted))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert isinstance(done, FitFinished) and done.reason == "max-epochs"
    assert [e.epoch for e in epochs] == list(range(1, 7))
    assert done.record.val_perplexity == min(e.val_perplexity for e in epochs)
    assert done.record.val_perplexity < 0.7 * started.unigram_perplexity
    assert done.record.status == "complete"
    assert len(done.record.history) == 6
    assert store.load_record("tiny").val_perplexity == pytest.approx(done.record.val_perplexity)


def test_recorded_perplexity_is_the_engine_perplexity_of_the_validation_text(tiny_srt):
    from charlm.data.split import split_corpus
    from charlm.engine import Engine

    corpus = load_corpus([tiny_srt])
    _, done = run(corpus, tiny(max_epochs=2))
    val = split_corpus(corpus, TINY.training.val_fraction, TINY.training.seq_length + 1).val
    assert Engine.load("tiny").perplexity(val) == pytest.approx(done.record.val_perplexity, rel=1e-4)


def test_same_corpus_and_config_reuses_the_cached_model(tiny_srt):
    corpus = load_corpus([tiny_srt])
    config = tiny(max_epochs=1)
    run(corpus, config)
    events, done = run(corpus, config)
    assert done.reason == "cached" and len(events) == 1
    _, forced = run(corpus, config, force=True)
    assert forced.reason == "max-epochs"


def test_a_name_clash_needs_force(tiny_srt):
    corpus = load_corpus([tiny_srt])
    run(corpus, tiny(max_epochs=1))
    with pytest.raises(ConfigError, match="already exists.*--force"):
        run(corpus, tiny(max_epochs=1, units=16))


def test_ctrl_c_keeps_the_best_model_and_resume_continues(tiny_srt):
    corpus = load_corpus([tiny_srt])
    config = tiny(max_epochs=4)
    gen = fit(corpus, config, "stopped")
    for event in gen:
        if isinstance(event, EpochEnd) and event.epoch == 2:
            done = gen.throw(KeyboardInterrupt())
            break
    assert isinstance(done, FitFinished) and done.reason == "interrupted"
    saved = store.load_record("stopped")
    assert saved.status == "interrupted" and len(saved.history) == 2
    events, resumed = run(corpus, config, name="stopped", resume=True)
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [3, 4]
    assert resumed.record.status == "complete"
    assert [e.epoch for e in resumed.record.history] == [1, 2, 3, 4]


def test_ctrl_c_before_the_first_epoch_saves_nothing(tiny_srt, charlm_home):
    corpus = load_corpus([tiny_srt])
    gen = fit(corpus, TINY, "never")
    for event in gen:
        if isinstance(event, BatchEnd):
            done = gen.throw(KeyboardInterrupt())
            break
    assert done.record is None and done.reason == "interrupted"
    assert not (charlm_home / "models" / "never").exists()


def test_a_failed_fit_leaves_nothing_in_the_store(tiny_srt, charlm_home, monkeypatch):
    import charlm.trainer.loop as loop_module

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(loop_module, "validation_perplexity", boom)
    with pytest.raises(RuntimeError):
        run(load_corpus([tiny_srt]), TINY)
    models = charlm_home / "models"
    assert not models.exists() or [p for p in models.iterdir() if not p.name.startswith(".")] == []


def test_a_corpus_too_short_is_a_corpus_error(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("hola che " * 5)
    with pytest.raises(CorpusError, match="too short"):
        run(load_corpus([short]), TINY)


def test_one_hot_input_and_every_architecture_train(tiny_srt):
    corpus = load_corpus([tiny_srt])
    for arch in ("rnn", "lstm"):
        _, done = run(corpus, tiny(arch, embedding=0, max_epochs=1), name=f"t-{arch}")
        assert done.record.config.arch.one_hot and done.record.arch == arch


def test_same_seed_same_model(tiny_srt):
    corpus = load_corpus([tiny_srt])
    config = tiny(max_epochs=1)
    _, a = run(corpus, config, name="a")
    _, b = run(corpus, config, name="b")
    assert a.record.val_perplexity == pytest.approx(b.record.val_perplexity, rel=1e-6)


def test_the_time_limit_stops_within_one_batch_and_keeps_the_best_model(tiny_srt):
    import time

    corpus = load_corpus([tiny_srt])
    limit = 2.0
    gen = fit(corpus, tiny(max_epochs=10_000, time_limit=limit), "timed")
    seen = []
    for event in gen:
        if isinstance(event, FitStarted):
            deadline = time.monotonic() + limit  # fit's own deadline is set just after this
        elif isinstance(event, BatchEnd):
            seen.append(time.monotonic())
        elif isinstance(event, FitFinished):
            done = event
    late = [t for t in seen if t > deadline]
    assert len(late) <= 1, f"{len(late)} batches ended after the budget"
    assert done.reason == "time-limit" and done.record.stop_reason == "time-limit"
    assert store.load_record("timed").val_perplexity == done.record.val_perplexity


def test_a_longer_budget_is_the_same_model_and_resume_extends_it(tiny_srt):
    corpus = load_corpus([tiny_srt])
    _, first = run(corpus, tiny(max_epochs=2), name="grow")
    _, again = run(corpus, tiny(max_epochs=5, patience=3), name="grow")
    assert again.reason == "cached" and len(again.record.history) == 2
    events, grown = run(corpus, tiny(max_epochs=4), name="grow", resume=True)
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [3, 4]
    assert [e.epoch for e in grown.record.history] == [1, 2, 3, 4]
    assert grown.record.config.training.max_epochs == 4
    with pytest.raises(ConfigError, match="only --epochs, --patience and --time-limit"):
        run(corpus, tiny(max_epochs=6, learning_rate=0.5), name="grow", resume=True)


def test_the_cosine_schedule_anneals_to_a_tenth_over_the_epochs(tiny_srt):
    corpus = load_corpus([tiny_srt])
    events, done = run(corpus, tiny(max_epochs=3, schedule="cosine", lr_decay=0.5), name="cos")
    rates = [e.learning_rate for e in events if isinstance(e, EpochEnd)]
    assert rates[0] < TINY_FIELDS["learning_rate"] and rates == sorted(rates, reverse=True)
    assert rates[-1] == pytest.approx(0.1 * TINY_FIELDS["learning_rate"], rel=0.05)
