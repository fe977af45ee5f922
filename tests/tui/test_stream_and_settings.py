"""Typing, a watchable stream, several results and settings that persist (issue 10)."""

from __future__ import annotations

import json
import time

from charlm.engine.settings import DecodeSettings
from charlm.tui.app import CharlmApp
from charlm.tui.prefs import ViewSettings, config_dir
from charlm.tui.screens.dialogs import TextDialog
from charlm.tui.widgets.settings_panel import KEYS, SettingsPanel
from tests.tui.conftest import ALPHABET, main_screen, make_engine, run_to_end, wait_until

# -- typing goes where the user expects -----------------------------------------------------

async def test_typing_in_the_settings_panel_goes_to_the_prompt():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=8))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        panel = screen.query_one(SettingsPanel)
        await pilot.press("tab")
        assert panel.has_focus and "tab: prompt" in panel.border_subtitle
        await pilot.press(*"ab ab", "enter")
        assert screen.prompt.has_focus and screen.prompt.text == "ab ab"
        await run_to_end(pilot, screen)
        assert app.live.get().mode == "greedy", "Enter completed the prompt, it did not step a setting"
        assert screen.transcript.last.prompt == "ab ab"


async def test_the_prompt_is_one_key_away_from_the_panel_and_the_transcript():
    app = CharlmApp(make_engine())
    async with app.run_test() as pilot:
        screen = main_screen(app)
        panel = screen.query_one(SettingsPanel)
        await pilot.press("tab")
        assert panel.has_focus
        await pilot.press("tab")
        assert screen.prompt.has_focus
        await pilot.press("ctrl+t", "down", "down", "enter")  # Enter on a stepped row: back to the prompt
        assert screen.prompt.has_focus and app.live.get() == DecodeSettings()
        await pilot.press("shift+tab")
        assert screen.transcript.has_focus
        await pilot.press("x")
        assert screen.prompt.has_focus and screen.prompt.text == "x"


# -- a stream you can watch and steer -------------------------------------------------------

async def test_a_paced_stream_shows_its_rate_and_pace_changes_live():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=400))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = main_screen(app)
        app.update_view(ViewSettings(pace=20))
        assert screen.query_one(SettingsPanel).value_of("pace") == "20/s"
        started = time.monotonic()
        await pilot.press("a", "enter")
        await wait_until(pilot, lambda: len(screen.transcript.last.generated) >= 12)
        elapsed = time.monotonic() - started
        assert elapsed >= 0.45, "20 characters a second: 12 take more than half a second"
        await wait_until(pilot, lambda: "chars/s" in screen.transcript.border_subtitle)
        assert screen.generating
        rate = float(screen.transcript.border_subtitle.split(" chars/s")[0].rsplit(" ", 1)[1])
        assert 10 <= rate <= 40
        await pilot.click("#set-pace .dec")  # 20/s -> 10/s
        await pilot.click("#set-pace .dec")  # -> 5/s
        await pilot.click("#set-pace .dec")  # -> max
        assert app.view.pace == 0
        await run_to_end(pilot, screen)  # the other ~390 characters come at once
        assert len(screen.transcript.last.generated) == 400
        assert screen.transcript.border_subtitle.startswith("done · 400 chars")


async def test_a_setting_changed_mid_stream_is_marked_in_the_transcript(gate):
    app = CharlmApp(make_engine(gate=gate), settings=DecodeSettings(mode="sample", seed=1, length=20))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        gate.release(4)
        await wait_until(pilot, lambda: gate.entered == 5)
        await pilot.press("f2")  # sample -> greedy while it streams
        gate.open()
        await run_to_end(pilot, screen)
        entry = screen.transcript.last
        assert len(entry.generated) == 20 and "‹" not in entry.generated
        shown = entry.shown
        assert "‹greedy›" in shown
        position = shown.index("‹greedy›") - len("a")
        assert entry.generated[position:] == shown[shown.index("›") + 1:]
        assert [s.mode for _, s in entry.changes] == ["sample", "greedy"]


# -- more than one result -------------------------------------------------------------------

async def test_several_results_appear_together_and_one_can_be_chosen():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="beam", beam_width=2, num=3, length=6))
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        screen = main_screen(app)
        await pilot.press("a", "b", "enter")
        await run_to_end(pilot, screen)
        entry = screen.transcript.last
        results = entry.alternatives
        assert len(results) == 3 and len(set(results)) == 3  # the search was widened to 3 beams
        assert entry.generated == results[0]
        assert "#2 " + results[1] in entry.shown and "#3 " + results[2] in entry.shown
        assert "result 1/3" in screen.transcript.border_subtitle
        await pilot.press("ctrl+n")
        assert entry.generated == results[1] and "#1 " + results[0] in entry.shown
        await pilot.press("f6")
        assert copied == [results[1]]
        await pilot.press("f5")  # continues from the chosen result
        await run_to_end(pilot, screen)
        assert entry.generated.startswith(results[1]) and len(entry.generated) == 12


async def test_sample_results_are_independent_draws_and_reroll_uses_current_settings():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="sample", temperature=1.5, num=3,
                                                           length=30, seed=4))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "enter")
        await run_to_end(pilot, screen)
        first = screen.transcript.last
        assert len(first.alternatives) == 3 and len(set(first.alternatives)) == 3
        await pilot.press("f2")  # -> greedy
        await pilot.press("ctrl+r")
        await run_to_end(pilot, screen)
        again = screen.transcript.last
        assert again is not first and again.prompt == "a"
        assert again.generated == "bcdefgh .abcdefgh .abcdefgh .a"
        assert [s.mode for _, s in again.changes] == ["greedy"]


# -- typed settings -------------------------------------------------------------------------

async def test_seed_and_stop_are_typed_with_checks():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="greedy", length=30))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = main_screen(app)
        panel = screen.query_one(SettingsPanel)
        await pilot.press("ctrl+t")
        panel.selected = KEYS.index("seed")
        await pilot.press("enter")
        assert isinstance(app.screen, TextDialog)
        await pilot.press(*"42", "enter")
        assert app.live.get().seed == 42 and panel.value_of("seed") == "42"
        panel.selected = KEYS.index("stop")
        await pilot.press("enter")
        await pilot.press(*"\\q", "enter")
        dialog = app.screen
        assert isinstance(dialog, TextDialog) and "unknown escape" in str(dialog.query_one("#error").content)
        await pilot.press("backspace", "backspace", *"e\\x66", "enter")
        assert app.live.get().stop == ("ef",) and panel.value_of("stop") == "ef"
        await pilot.press("tab", "a", "enter")
        await run_to_end(pilot, screen)
        assert screen.transcript.last.generated == "bcd"
        assert "stop string" in screen.transcript.border_subtitle


# -- settings persist -----------------------------------------------------------------------

async def test_settings_are_kept_between_launches_under_charlm_home(charlm_home):
    app = CharlmApp(make_engine())
    async with app.run_test() as pilot:
        await pilot.press("f4", "f2", "f7")
        app.update_view(ViewSettings(pace=60, confidence=app.view.confidence))
    saved = config_dir() / "settings.json"
    assert saved.is_relative_to(charlm_home) and saved.exists()
    again = CharlmApp(make_engine())
    assert again.live.get().temperature == 0.8 and again.live.get().mode == "greedy"
    assert again.view.pace == 60 and again.view.confidence
    # Options given on the command line change the saved settings for this launch only.
    launched = CharlmApp(make_engine(), overrides={"temperature": 1.2, "length": 50})
    assert launched.live.get().temperature == 1.2 and launched.live.get().length == 50
    async with launched.run_test() as pilot:
        await pilot.press("f2")  # greedy -> beam: saved; the options given are not
    after = CharlmApp(make_engine()).live.get()
    assert (after.mode, after.temperature, after.length) == ("beam", 0.8, 200)


async def test_a_broken_settings_file_keeps_what_is_valid_and_says_so(charlm_home):
    path = config_dir() / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"decode": {"temperature": 0.3, "top_p": 7, "mode": "nope"},
                                "view": {"pace": -1}}))
    app = CharlmApp(make_engine())
    assert app.live.get().temperature == 0.3 and app.live.get().top_p == 1.0
    assert app.live.get().mode == "sample" and app.view.pace == 0
    async with app.run_test() as pilot:
        await pilot.pause()
        assert any("top-p" in n.message for n in app._notifications)
    path.write_text("{not json")
    assert CharlmApp(make_engine()).live.get() == DecodeSettings()


# -- narrow terminals -----------------------------------------------------------------------

async def test_below_80_columns_the_settings_panel_is_toggled():
    app = CharlmApp(make_engine(alphabet=ALPHABET))
    async with app.run_test(size=(60, 20)) as pilot:
        screen = main_screen(app)
        side = screen.query_one("#side")
        await pilot.pause()
        assert not side.display
        assert app.active_bindings["ctrl+t"].binding.show  # the footer offers it
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert side.display and side.region.width > 0 and screen.query_one(SettingsPanel).has_focus
        await pilot.press("right")  # steps the mode, visibly
        assert app.live.get().mode == "greedy"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not side.display and screen.prompt.has_focus
