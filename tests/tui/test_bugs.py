"""The app's bugs from daily use, each as the behaviour a user now gets (issue 10)."""

from __future__ import annotations

import asyncio

import pytest
from textual import events

from charlm.engine.settings import DecodeSettings
from charlm.tui.app import CharlmApp
from charlm.tui.widgets.prompt import PromptStats
from charlm.tui.widgets.settings_panel import KEYS, SettingsPanel
from tests.tui.conftest import ALPHABET, main_screen, make_engine, run_to_end, wait_until


def send_keys(app: CharlmApp, *keys: str) -> None:
    """Hand key events to the app all at once, as a fast typist's terminal does (no idling between)."""
    for key in keys:
        event = events.Key(key, "\r" if key == "enter" else key)
        event.set_sender(app)
        app._driver.send_message(event)


# -- two quick Enters -----------------------------------------------------------------------

@pytest.mark.parametrize("attempt", range(20))
async def test_two_quick_enters_end_both_completions(attempt):
    """The second Enter may come before the first completion's thread has even started."""
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=40))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press(*"ab ab")
        send_keys(app, "enter")
        if attempt % 2:  # half the time a little later, while the first may be running
            await asyncio.sleep(attempt / 2000)
        send_keys(app, "enter")
        await run_to_end(pilot, screen)
        first, second = screen.transcript.entries
        assert first.status in ("cancelled", "")  # stopped (or already done), never "streaming"
        assert second.status == "" and len(second.generated) == 40
        assert "▍" not in screen.transcript.query_one("Entry").as_text().plain
        # Nothing is left waiting: continuing works at once.
        await pilot.press("f5")
        await run_to_end(pilot, screen)
        assert len(second.generated) == 80
        assert "done" in screen.transcript.border_subtitle


async def test_eight_quick_enters_leave_no_orphan_entries():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=30))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press(*"ab")
        send_keys(app, *["enter"] * 8)
        await run_to_end(pilot, screen)
        entries = screen.transcript.entries
        assert len(entries) == 8
        assert all(e.status != "streaming" for e in entries)
        assert entries[-1].status == "" and len(entries[-1].generated) == 30
        await pilot.press("f5")
        await run_to_end(pilot, screen)
        assert len(entries[-1].generated) == 60


# -- Ctrl+L while streaming -----------------------------------------------------------------

async def test_clearing_during_a_stream_leaves_nothing_behind(gate):
    app = CharlmApp(make_engine(gate=gate), settings=DecodeSettings(mode="greedy", length=100))
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        gate.release(2)
        await wait_until(pilot, lambda: len(screen.transcript.last.generated) == 3)
        await pilot.press("ctrl+l")
        gate.open()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.transcript.entries == [] and not screen.transcript.query("Entry")
        assert screen.transcript.border_subtitle == ""  # no "stopped · N chars" over nothing
        await pilot.press("f6")
        assert copied == []
        # And the next completion works as usual.
        await pilot.press("enter")
        await run_to_end(pilot, screen)
        assert len(screen.transcript.last.generated) == 100


# -- Ctrl+J and models without a newline ----------------------------------------------------

async def test_ctrl_j_is_not_offered_for_a_model_without_newlines():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=5))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        assert "\n" not in screen.host.engine.vocab
        assert "^j" not in screen.prompt.border_subtitle
        await pilot.press("a", "ctrl+j", "b")
        assert screen.prompt.text == "ab"
        assert any("line break" in n.message for n in app._notifications)
        stats = screen.query_one(PromptStats)
        await wait_until(pilot, lambda: stats.chars == 2)
        assert stats.unknown == ()


async def test_a_pasted_newline_is_shown_as_a_visible_unknown():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=5))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        screen.prompt.set_text("a\nb")
        stats = screen.query_one(PromptStats)
        await wait_until(pilot, lambda: stats.chars == 3)
        assert "unknown: ⏎" in str(stats.content)


async def test_ctrl_j_works_for_a_model_with_newlines():
    app = CharlmApp(make_engine(alphabet=ALPHABET + "\n"))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        assert "^j newline" in screen.prompt.border_subtitle
        await pilot.press("a", "ctrl+j", "b")
        assert screen.prompt.text == "a\nb"


# -- the unknown symbol ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["greedy", "beam", "sampled-beam", "sample"])
async def test_the_app_never_generates_the_unknown_symbol(mode):
    """The toy model gives the unknown symbol a tiny probability; blocking everything else
    (no-repeat-ngram 1) or a very high temperature used to let it through."""
    for extra in ({"no_repeat_ngram": 1}, {"temperature": 100.0}):
        settings = DecodeSettings(mode=mode, length=40, seed=3, beam_width=3, **extra)
        # With a newline, the document separator is not the unknown symbol: nothing else blocks it.
        app = CharlmApp(make_engine(alphabet=ALPHABET + "\n"), settings=settings)
        async with app.run_test() as pilot:
            screen = main_screen(app)
            await pilot.press("a", "b", "enter")
            await run_to_end(pilot, screen)
            generated = screen.transcript.last.generated
            assert len(generated) == 40 and "\ufffd" not in generated


# -- every setting the README says is live has a control ------------------------------------

README_LIVE = ("mode", "temperature", "beam_width", "num", "length", "top_k", "top_p",
               "no_repeat_ngram", "length_penalty", "stop", "seed")


def test_every_decoding_setting_has_a_row_in_the_settings_panel():
    assert set(README_LIVE) <= set(KEYS)
    assert set(DecodeSettings.__dataclass_fields__) <= set(KEYS)


@pytest.mark.parametrize("key", [k for k in README_LIVE if k not in ("stop", "seed", "mode")])
async def test_every_stepped_setting_changes_live_from_its_row(key):
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="sample", length=200))
    async with app.run_test(size=(100, 40)) as pilot:
        panel = main_screen(app).query_one(SettingsPanel)
        before = getattr(app.live.get(), key), panel.value_of(key)
        await pilot.click(f"#set-{key} {'.dec' if key == 'top_p' else '.inc'}")  # top-p starts at its top
        after = getattr(app.live.get(), key), panel.value_of(key)
        assert after[0] != before[0] and after[1] != before[1]
