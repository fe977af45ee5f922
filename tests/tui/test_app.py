"""Behaviour of the charlm app, driven with Textual's Pilot against a toy engine."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from charlm.engine.settings import DecodeSettings
from charlm.tui.app import CharlmApp
from charlm.tui.messages import StreamBuffer
from charlm.tui.screens.help import HelpScreen
from charlm.tui.screens.main import MainScreen
from charlm.tui.screens.model_info import ModelInfoScreen
from charlm.tui.screens.model_picker import ModelPicker
from charlm.tui.screens.no_model import NoModelScreen
from charlm.tui.widgets.next_chars import NextChars
from charlm.tui.widgets.prompt import PromptStats
from charlm.tui.widgets.settings_panel import SettingsPanel, step_setting
from tests.tui.conftest import ALPHABET, RecordingLive, main_screen, make_engine, run_to_end, wait_until

GREEDY = DecodeSettings(mode="greedy", length=12)




# -- completing -----------------------------------------------------------------------------

async def test_enter_streams_completion_after_prompt():
    app = CharlmApp(make_engine(), settings=GREEDY)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press(*"ab")
        await pilot.press("enter")
        await run_to_end(pilot, screen)
        await pilot.app.workers.wait_for_complete()
        entry = screen.transcript.last
        assert entry is not None
        assert entry.prompt == "ab"
        assert entry.generated == "cdefgh .abcd"
        assert entry.status == ""
        assert "done" in screen.transcript.border_subtitle
        # The completion is styled apart from what the user typed.
        text = entry.as_text()
        prompt_style = text.get_style_at_offset(app.console, 0)
        generated_style = text.get_style_at_offset(app.console, 3)
        assert prompt_style != generated_style
        assert generated_style.bold


async def test_fast_stream_is_coalesced_but_complete():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=3000))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        await run_to_end(pilot, screen)
        generated = screen.transcript.last.generated
        assert len(generated) == 3000
        assert generated.startswith("bcdefgh .abcdefgh .a")


def test_word_wrap_is_incremental():
    from charlm.tui.widgets.wrap import Wrapped

    text = "che boludo, vos sabés\nlo que pasó ayer? nada de nada"
    whole = Wrapped(10)
    whole.extend(text)
    pieces = Wrapped(10)
    for i in range(0, len(text), 3):
        pieces.extend(text[i:i + 3])
    assert pieces.lines == whole.lines
    assert ["".join(whole.chars[a:b]) for a, b in whole.lines] == [
        "che ", "boludo, ", "vos sabés", "lo que ", "pasó ayer?", "nada de ", "nada"]


def test_stream_buffer_wakes_once_per_drain():
    buffer = StreamBuffer()
    assert buffer.push("a", [-0.1]) is True
    assert buffer.push("bc", [-0.2, -0.3]) is False
    assert buffer.drain() == ("abc", [-0.1, -0.2, -0.3])
    assert buffer.push("d", [-0.4]) is True
    assert buffer.drain() == ("d", [-0.4])
    assert buffer.drain() == ("", [])


async def test_escape_stops_a_running_completion(gate):
    app = CharlmApp(make_engine(gate=gate), settings=DecodeSettings(mode="greedy", length=50_000))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        gate.release(5)  # the first character needs no step: 6 characters, parked in the 6th step
        await wait_until(pilot, lambda: len(screen.transcript.last.generated) == 6)
        await pilot.press("escape")
        gate.open()  # the parked step returns; the engine sees the cancel before the next one
        await run_to_end(pilot, screen)
        entry = screen.transcript.last
        assert entry.status == "cancelled"
        assert len(entry.generated) == 7
        assert "stopped" in screen.transcript.border_subtitle


async def test_escape_stops_a_fast_completion():
    # Slow enough that Pilot sees an idle app between key presses, never parked.
    app = CharlmApp(make_engine(delay=0.05), settings=DecodeSettings(mode="greedy", length=50_000))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        await wait_until(pilot, lambda: len(screen.transcript.last.generated) >= 2)
        await pilot.press("escape")
        await run_to_end(pilot, screen)
        assert screen.transcript.last.status == "cancelled"
        assert len(screen.transcript.last.generated) < 50_000


async def test_new_request_cancels_the_running_one(gate):
    app = CharlmApp(make_engine(gate=gate), settings=DecodeSettings(mode="greedy", length=200))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        gate.release(3)
        await wait_until(pilot, lambda: len(screen.transcript.last.generated) == 4)
        await pilot.press("enter")
        first, second = screen.transcript.entries
        gate.open()
        await run_to_end(pilot, screen)
        assert first.status == "cancelled" and len(first.generated) == 5
        assert second.status == "" and len(second.generated) == 200


async def test_entry_shows_before_the_first_character(gate):
    """Beam search settles its first character late: the prompt still appears at once."""
    app = CharlmApp(make_engine(gate=gate), settings=DecodeSettings(mode="beam", length=10))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        entry = screen.transcript.last
        await wait_until(pilot, lambda: entry.is_mounted, what="the entry to appear")
        assert entry.generated == "" and "streaming · beam" in screen.transcript.border_subtitle
        gate.open()
        await run_to_end(pilot, screen)
        assert len(entry.generated) == 10


async def test_continue_copy_and_clear():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=4))
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        await run_to_end(pilot, screen)
        await pilot.press("f5")
        await run_to_end(pilot, screen)
        entries = screen.transcript.entries
        assert len(entries) == 1
        assert entries[0].generated == "bcdefgh "
        assert screen.prompt.text == "abcde", "the continued completion became part of the prompt"
        await pilot.press("f6")
        assert copied == ["bcdefgh "]
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert screen.transcript.entries == []


# -- live settings --------------------------------------------------------------------------

async def _hold_stream(pilot, screen, gate, steps: int) -> int:
    """Let ``steps`` model steps through and park the worker inside the next one.

    The first character comes from reading the prompt, so ``steps + 1`` are
    shown; the engine has already read the settings for the one being
    decided. Returns how many reads the generation made so far.
    """
    gate.release(steps)
    await wait_until(pilot, lambda: gate.entered == steps + 1, what="the worker to park")
    await wait_until(pilot, lambda: len(screen.transcript.last.generated) == steps + 1)
    return len(screen.app.live.reads)


def _split(reads, n):
    return reads[:n], reads[n:]


@pytest.mark.parametrize("how", ["key", "click"])
async def test_mode_change_reaches_running_stream(gate, how):
    live = RecordingLive(DecodeSettings(mode="sample", length=30, seed=1))
    app = CharlmApp(make_engine(gate=gate), live=live)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        before_change = await _hold_stream(pilot, screen, gate, 6)
        if how == "key":
            await pilot.press("f2")  # sample -> greedy
        else:
            await pilot.click("#set-mode .dec")  # sample -> sampled beam
        expected = "greedy" if how == "key" else "sampled-beam"
        assert screen.query_one(SettingsPanel).value_of("mode") == expected.replace("-", " ")
        assert expected.replace("-", " ") in screen.transcript.border_subtitle
        await pilot.press("f5")  # continuing a running completion is refused, not mixed in
        assert len(screen.transcript.entries) == 1 and screen.prompt.text == "a"
        gate.open()
        await run_to_end(pilot, screen)
        old, new = _split(live.reads, before_change)
        assert old and all(s.mode == "sample" for s in old)
        assert new and all(s.mode == expected for s in new)
        entry = screen.transcript.last
        assert len(screen.transcript.entries) == 1 and entry.status == ""
        assert len(entry.generated) == 30, "the stream went on, it did not restart"


@pytest.mark.parametrize("how", ["key", "click"])
async def test_temperature_change_reaches_running_stream(gate, how):
    live = RecordingLive(DecodeSettings(mode="sample", temperature=0.7, length=20, seed=3))
    app = CharlmApp(make_engine(gate=gate), live=live)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        before_change = await _hold_stream(pilot, screen, gate, 4)
        if how == "key":
            await pilot.press("f4")
        else:
            await pilot.click("#set-temperature .inc")
        assert screen.query_one(SettingsPanel).value_of("temperature") == "0.80"
        gate.open()
        await run_to_end(pilot, screen)
        old, new = _split(live.reads, before_change)
        assert all(s.temperature == 0.7 for s in old)
        assert new and all(s.temperature == 0.8 for s in new)
        assert len(screen.transcript.last.generated) == 20


async def test_settings_panel_from_keyboard():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="sample", beam_width=5, length=200))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("tab")
        panel = screen.query_one(SettingsPanel)
        assert panel.has_focus
        await pilot.press("down", "down", "right")  # mode -> temp -> beams, one up
        assert app.live.get().beam_width == 6
        await pilot.press("down", "down", "left")  # results, then length one down
        assert app.live.get().length == 100
        await pilot.press(*["down"] * 6, "right")  # top-k, top-p, no-rep, penalty, stop, seed: random -> 0
        assert app.live.get().seed == 0
        assert panel.value_of("seed") == "0"
        app.action_set_mode("sampled-beam")  # what the command palette's "Mode: ..." runs
        assert panel.value_of("mode") == "sampled beam"
        assert {c.title for c in app.get_system_commands(screen)} >= {
            "Mode: greedy", "Mode: beam", "Mode: sampled beam", "Mode: sample", "Choose model"}


async def test_confidence_colouring_toggles():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="sample", length=40, seed=0))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        await run_to_end(pilot, screen)
        entry = screen.transcript.last
        plain = {str(span.style) for span in entry.as_text().spans}
        await pilot.press("f7")
        assert entry.confidence
        coloured = {str(span.style) for span in entry.as_text().spans}
        assert len(coloured) > len(plain)
        await pilot.click("#set-confidence .inc")
        assert not entry.confidence


def test_step_setting_ladders():
    s = DecodeSettings(mode="sample", temperature=0.75, top_p=1.0, seed=None)
    assert step_setting(s, "temperature", 1).temperature == 0.8
    assert step_setting(s, "temperature", -1).temperature == 0.7
    assert step_setting(s, "mode", 1).mode == "greedy"
    assert step_setting(s, "top_p", 1).top_p == 1.0
    assert step_setting(s, "top_p", -1).top_p == 0.95
    assert step_setting(s, "seed", -1).seed is None
    assert step_setting(step_setting(s, "seed", 1), "seed", -1).seed is None
    assert step_setting(s.replace(length=100_000), "length", 1).length == 100_000
    assert step_setting(s.replace(top_p=0.1), "top_p", -1).top_p == 0.1
    assert step_setting(s.replace(temperature=50.0), "temperature", 1).temperature == 50.0
    assert step_setting(s.replace(temperature=50.0), "temperature", -1).temperature == 3.0


# -- prompt analysis ------------------------------------------------------------------------

async def test_enter_completes_and_ctrl_j_breaks_the_line():
    app = CharlmApp(make_engine(alphabet=ALPHABET + "\n"), settings=GREEDY)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "ctrl+j", "b")
        assert screen.prompt.text == "a\nb"
        assert screen.transcript.last is None
        await pilot.press("enter")
        await run_to_end(pilot, screen)
        assert screen.transcript.last.prompt == "a\nb"


async def test_next_char_panel_follows_each_keystroke():
    app = CharlmApp(make_engine())
    async with app.run_test() as pilot:
        panel = main_screen(app).query_one(NextChars)
        await pilot.press("a")
        await wait_until(pilot, lambda: panel.shown_for == "a")
        assert panel.distribution[0][0] == "b"
        await pilot.press("b")
        await wait_until(pilot, lambda: panel.shown_for == "ab")
        assert panel.distribution[0][0] == "c"
        assert abs(sum(p for _, p in panel.distribution) - 1.0) < 1e-6
        # Clicking a bar types that character.
        await pilot.click(NextChars, offset=(3, 1))
        await wait_until(pilot, lambda: panel.shown_for == "abc")


async def test_prompt_perplexity_is_shown():
    engine = make_engine()
    app = CharlmApp(engine)
    async with app.run_test() as pilot:
        stats = main_screen(app).query_one(PromptStats)
        await pilot.press(*"abc")
        await wait_until(pilot, lambda: stats.chars == 3)
        assert math.isclose(stats.perplexity, engine.perplexity("abc"), rel_tol=1e-6)
        assert f"perplexity {engine.perplexity('abc'):.2f}" in str(stats.content)


# -- models ---------------------------------------------------------------------------------

async def test_model_switch_from_the_picker(no_builtin):
    from tests.conftest import random_model

    random_model("alpha", "gru", seed=1)
    random_model("beta", "lstm", seed=2)
    app = CharlmApp(model_name="beta", settings=GREEDY)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.engine is not None, what="the model to load")
        screen = main_screen(app)
        assert app.engine.record.name == "beta"
        await pilot.click("#set-model .value")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker))
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.engine.record.name == "alpha", what="the switch")
        assert isinstance(app.screen, MainScreen)
        panel = screen.query_one(SettingsPanel)
        assert panel.value_of("model") == "alpha"
        assert "GRU" in str(panel.query_one("#model-details").content)
        await pilot.click("#prompt")
        await pilot.press("h", "enter")
        await run_to_end(pilot, screen)
        assert len(screen.transcript.last.generated) == 12


async def test_model_info_shows_history_sparkline():
    from dataclasses import replace

    from charlm.store import EpochRecord
    from tests.conftest import random_model

    record, _ = random_model("gamma")
    history = tuple(EpochRecord(i, 2.0 / i, 20.0 / i, 1.0) for i in range(1, 6))
    engine = make_engine(record=replace(record, history=history))
    app = CharlmApp(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelInfoScreen))
        sparkline = app.screen.query_one("#history")
        assert list(sparkline.data) == [20.0 / i for i in range(1, 6)]
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_no_model_screen_then_retry(no_builtin):
    app = CharlmApp()
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, NoModelScreen))
        message = str(app.screen.query_one("#no-model").content)
        assert "charlm-train fit CORPUS" in message
        assert "charlm-train fit --sample rioplatense" in message
        from tests.conftest import random_model

        random_model("fresh")
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="main screen")
        assert app.engine.record.name == "fresh"


async def test_help_screen_opens_and_closes():
    app = CharlmApp(make_engine())
    async with app.run_test() as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_resizes_cleanly():
    app = CharlmApp(make_engine(), settings=GREEDY, prompt="ab")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = main_screen(app)
        side = screen.query_one("#side")
        assert side.display and side.region.width > 0
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert not side.display  # narrow: prompt and transcript only
        await pilot.resize_terminal(140, 45)
        await pilot.pause()
        assert side.display
        await pilot.press("enter")
        await run_to_end(pilot, screen)


# -- launching ------------------------------------------------------------------------------

def test_launch_unknown_model_fails_before_the_app(monkeypatch):
    from charlm.errors import ModelNotFoundError
    from charlm.tui.launch import launch

    monkeypatch.setattr(CharlmApp, "run", lambda self: pytest.fail("app started"))
    with pytest.raises(ModelNotFoundError):
        launch("no-such-model", {})


def test_launch_opens_the_app_with_model_settings_and_prompt(monkeypatch, no_builtin):
    from charlm.tui.launch import launch
    from tests.conftest import random_model

    random_model("delta")
    started: list[CharlmApp] = []
    monkeypatch.setattr(CharlmApp, "run", lambda self: started.append(self))
    launch("delta", {"mode": "beam", "beam_width": 3}, "hola")
    (app,) = started
    assert app.model_name == "delta" and app.initial_prompt == "hola"
    assert app.live.get() == DecodeSettings(mode="beam", beam_width=3)
    launch(None, {})  # an empty-named default resolves too
    assert len(started) == 2


def test_launch_with_empty_store_opens_the_no_model_screen(monkeypatch, no_builtin):
    from charlm.tui.launch import launch

    started: list[CharlmApp] = []
    monkeypatch.setattr(CharlmApp, "run", lambda self: started.append(self))
    launch(None, {})
    assert started and started[0].engine is None


def test_app_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "import charlm.tui.app as m\n"
        "m.CharlmApp()\n"
        "bad = [k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras')]\n"
        "assert not bad, bad[:5]\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
