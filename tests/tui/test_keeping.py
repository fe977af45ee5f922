"""History, copy, save, the palette, dialogs, help and terminal safety (issues 10 and 9)."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Footer

from charlm.engine.settings import DecodeSettings
from charlm.tui.app import CharlmApp
from charlm.tui.screens.dialogs import HistorySearch, TextDialog
from charlm.tui.screens.help import HelpScreen, help_text
from charlm.tui.screens.main import MainScreen
from charlm.tui.screens.model_info import ModelInfoScreen, what_it_writes
from charlm.tui.screens.model_picker import ModelPicker
from charlm.tui.widgets.next_chars import NextChars
from charlm.tui.widgets.prompt import PromptStats
from tests.tui.conftest import ALPHABET, main_screen, make_engine, run_to_end, wait_until

GREEDY = DecodeSettings(mode="greedy", length=6)




async def complete(pilot, screen: MainScreen, prompt: str) -> None:
    screen.prompt.set_text(prompt)
    await pilot.press("enter")
    await run_to_end(pilot, screen)


# -- prompt history -------------------------------------------------------------------------

async def test_up_and_down_walk_the_prompt_history_and_it_is_kept():
    app = CharlmApp(make_engine(), settings=GREEDY)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        for prompt in ("ab", "cd", "cd", "ef"):
            await complete(pilot, screen, prompt)
        assert app.history == ["ab", "cd", "ef"]
        screen.prompt.set_text("draft")
        await pilot.press("up")
        assert screen.prompt.text == "ef"
        await pilot.press("up", "up", "up")
        assert screen.prompt.text == "ab"  # the oldest stays
        await pilot.press("down", "down", "down")
        assert screen.prompt.text == "draft"
    assert CharlmApp(make_engine()).history == ["ab", "cd", "ef"]


async def test_history_search_finds_a_prompt_by_any_part():
    app = CharlmApp(make_engine(), settings=GREEDY)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        for prompt in ("abc", "hag", "dec"):
            await complete(pilot, screen, prompt)
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, HistorySearch)
        await pilot.press("c")
        assert app.screen.matches == ["dec", "abc"]  # newest first
        await pilot.press("down", "enter")
        assert screen.prompt.text == "abc"


async def test_one_key_clears_the_prompt_from_anywhere():
    app = CharlmApp(make_engine())
    async with app.run_test() as pilot:
        screen = main_screen(app)
        screen.prompt.set_text("abc\nabc")
        await pilot.press("ctrl+u")
        assert screen.prompt.text == ""
        screen.prompt.set_text("abc")
        await pilot.press("tab", "ctrl+u")
        assert screen.prompt.text == "" and screen.prompt.has_focus


# -- copy and save --------------------------------------------------------------------------

async def test_any_entry_can_be_copied():
    app = CharlmApp(make_engine(), settings=GREEDY)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await complete(pilot, screen, "a")
        await complete(pilot, screen, "d")
        await pilot.press("f6")
        assert copied == ["efgh ."]  # the last entry by default
        await pilot.press("shift+tab", "up")  # the transcript, then the entry before
        assert screen.transcript.selected is screen.transcript.entries[0]
        assert screen.transcript.entries[0].has_class("-selected")
        await pilot.press("f6")
        assert copied[-1] == "bcdefg"
        await pilot.click(screen.transcript.entries[1])
        await pilot.press("f6")
        assert copied[-1] == "efgh ."


async def test_the_transcript_is_saved_with_prompts_settings_and_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="beam", num=2, length=6))
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await complete(pilot, screen, "ab")
        await pilot.press("f2")  # sampled beam
        await complete(pilot, screen, "ef")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, TextDialog)
        dialog_input = app.screen.query_one("Input")
        assert dialog_input.value.startswith("charlm-") and dialog_input.value.endswith(".md")
        dialog_input.value = "talk.md"
        await pilot.press("enter")
        await pilot.pause()
        written = tmp_path / "talk.md"
        assert any(str(written) in n.message for n in app._notifications)
        text = written.read_text()
        assert "- model: toy" in text
        assert "## 1" in text and "## 2" in text
        assert "- settings: beam ×5" in text and "- settings: sampled beam 0.70" in text
        first = screen.transcript.entries[0]
        assert first.prompt in text and first.generated in text and first.alternatives[1] in text
        await pilot.press("ctrl+s")
        app.screen.query_one("Input").value = "talk.txt"
        await pilot.press("enter")
        await pilot.pause()
        plain = (tmp_path / "talk.txt").read_text()
        assert plain.startswith("charlm transcript\nmodel: toy") and "```" not in plain


# -- command palette, dialogs and help ------------------------------------------------------

async def test_every_action_is_in_the_command_palette():
    app = CharlmApp(make_engine())
    async with app.run_test() as pilot:
        await pilot.pause()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert titles >= {"Continue", "Copy", "Clear transcript", "Clear prompt", "Save transcript",
                          "Re-roll", "Next result", "Search prompt history", "Settings panel", "Set seed…",
                          "Set stop strings…", "Mode: greedy", "Mode: beam", "Mode: sampled beam",
                          "Mode: sample", "Choose model", "Model info", "Keys and help"}


async def test_dialogs_show_their_own_keys():
    from charlm.store import EpochRecord
    from tests.conftest import random_model

    record, _ = random_model("gamma")
    engine = make_engine(record=replace(record, history=(EpochRecord(1, 2.0, 9.0, 1.0),)))
    app = CharlmApp(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        for key, screen_type in (("f1", HelpScreen), ("f9", ModelInfoScreen), ("f8", ModelPicker)):
            await pilot.press(key)
            await wait_until(pilot, lambda t=screen_type: isinstance(app.screen, t))
            assert app.screen.query(Footer), f"{screen_type.__name__} has no footer of its own"
            shown = {b.binding.description for b in app.screen.active_bindings.values() if b.binding.show}
            assert "Stop" not in shown and ({"Close", "Cancel"} & shown)
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))


def test_the_help_says_how_to_close_dialogs_and_names_no_theme_colours():
    text = help_text()
    assert "in a dialog" in text and "close it" in text
    for internal in ("accent", "primary", "$text", "secondary"):
        assert internal not in text
    for key in ("Ctrl+R", "Ctrl+N", "Ctrl+S", "Ctrl+F", "Ctrl+U", "Ctrl+T"):
        assert key in text


def test_what_a_model_writes():
    from charlm import store

    builtin = store.builtin_record()
    assert what_it_writes(builtin) == "lower-case Rioplatense Spanish dialogue"


async def test_with_only_the_built_in_model_the_picker_says_how_to_train_another():
    from charlm import store

    app = CharlmApp(make_engine(record=store.builtin_record()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker))
        hint = str(app.screen.query_one("#picker-hint").content)
        assert "Only the built-in model" in hint and "charlm-train fit" in hint
        options = app.screen.query_one("OptionList")
        assert "Rioplatense Spanish" in str(options.get_option_at_index(0).prompt)


async def test_a_broken_model_is_listed_in_the_picker_with_its_reason(no_builtin):
    from tests.conftest import random_model

    record, _ = random_model("fine")
    random_model("bad")
    (record.path.parent / "bad" / "config.json").write_text("{")
    app = CharlmApp(make_engine(record=record))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker))
        options = app.screen.query_one("OptionList")
        texts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("bad" in t and "broken" in t for t in texts)


# -- nothing reaches the terminal raw -------------------------------------------------------

HOSTILE = "\x1b]0;pwned\x07\x1b[31m\x9b\u202e"
UNSAFE = "\x1b\x07\x9b\u202e"  # what must never reach the terminal as it is


async def test_control_characters_from_the_model_are_escaped_everywhere():
    engine = make_engine(alphabet=ALPHABET + HOSTILE)
    app = CharlmApp(engine, settings=DecodeSettings(mode="sample", temperature=100.0, length=300, seed=0))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = main_screen(app)
        screen.prompt.set_text("a" + HOSTILE)
        await pilot.press("enter")
        await run_to_end(pilot, screen)
        entry = screen.transcript.last
        assert set(entry.generated) >= set(UNSAFE), "the test needs the model to emit them"
        for bad in UNSAFE:
            assert bad not in entry.shown
        assert "\\x1b" in entry.shown
        screen.prompt.set_text("a\x08")  # a control character the model never saw
        stats = screen.query_one(PromptStats)
        await wait_until(pilot, lambda: stats.unknown == ("\x08",))
        assert "unknown: \\x08" in str(stats.content) and "\x08" not in str(stats.content)
        bars = screen.query_one(NextChars)
        rows = [bars.render_line(y).text for y in range(bars.content_size.height)]
        assert not set("".join(rows)) & set(UNSAFE)
