"""Suggestions as you type: ghost text after the cursor in the prompt, taken by character, word or all.

The toy engine's greedy path after ``ab`` is ``cdefgh .abcdefgh .abcdefgh ...``:
a suggestion runs to the end of the word being typed and two more words.
Where timing matters, a scripted suggester answers only when the test says.
"""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from dataclasses import replace

from charlm.engine.settings import DecodeSettings
from charlm.tui.app import CharlmApp
from charlm.tui.screens.help import help_text
from charlm.tui.screens.main import MainScreen
from charlm.tui.widgets.ghost import GhostTextArea, displayable, next_word, split_rows
from charlm.tui.widgets.next_chars import NextChars
from charlm.tui.widgets.prompt import PromptStats
from charlm.tui.widgets.settings_panel import SettingsPanel
from tests.tui.conftest import main_screen, make_engine, wait_until

GREEDY = DecodeSettings(mode="greedy", length=12)
AFTER_AB = "cdefgh .abcdefgh .abcdefgh"



def shown(prompt: GhostTextArea) -> str:
    """The prompt's rows as the user sees them (typed text and ghost text alike)."""
    return "\n".join(prompt.render_line(y).text.rstrip() for y in range(prompt.content_size.height)).rstrip()


async def suggested(pilot, prompt: GhostTextArea, ghost: str) -> None:
    await wait_until(pilot, lambda: prompt.ghost == ghost, what=f"the suggestion {ghost!r}")


@asynccontextmanager
async def typed_ab():
    """The app (greedy) with ``ab`` typed and its suggestion shown: (pilot, main screen)."""
    app = CharlmApp(make_engine(), settings=GREEDY, remember=False)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        await pilot.press("a", "b")
        await suggested(pilot, screen.prompt, AFTER_AB)
        yield pilot, screen


class Scripted:
    """A suggester that answers ``answer(text)`` once the test releases it."""

    def __init__(self, answer) -> None:
        self.answer, self.asked = answer, []
        self.release = threading.Event()

    def suggest(self, text, cancelled):
        self.asked.append(text)
        self.release.wait(10)
        return self.answer(text)


# -- seeing and taking it -------------------------------------------------------------------

async def test_typing_shows_the_models_continuation_dimmed_after_the_cursor():
    async with typed_ab() as (pilot, screen):
        prompt = screen.prompt
        assert shown(prompt) == "ab" + AFTER_AB
        line = prompt.render_line(0)
        typed, ghost = line.crop(0, 1), line.crop(3, 4)  # "d": past the cursor, drawn on "c"
        assert typed.text == "a" and ghost.text == "d"
        assert next(iter(ghost)).style.color != next(iter(typed)).style.color
        assert "⇥ word" in prompt.border_subtitle
        assert prompt.text == "ab", "a suggestion is not part of the prompt"


async def test_right_takes_a_character_tab_a_word_end_all():
    async with typed_ab() as (pilot, screen):
        prompt = screen.prompt
        await pilot.press("right")
        assert prompt.text == "abc" and prompt.ghost.startswith("defgh .abcdefgh")
        await pilot.press("tab")  # the rest of the word, and the focus stays
        assert prompt.text == "abcdefgh" and prompt.has_focus
        await suggested(pilot, prompt, " .abcdefgh .abcdefgh")
        await pilot.press("ctrl+right")  # also a word: blanks, then a word
        assert prompt.text == "abcdefgh .abcdefgh"
        await suggested(pilot, prompt, " .abcdefgh .abcdefgh")
        await pilot.press("end")
        assert prompt.text == "abcdefgh .abcdefgh .abcdefgh .abcdefgh"
        assert prompt.selection.end == prompt.document.end


async def test_a_matching_keystroke_keeps_the_rest_and_a_different_one_replaces_it():
    async with typed_ab() as (pilot, screen):
        prompt = screen.prompt
        scripted = Scripted(lambda text: {"abc": "defgh", "abcx": "yz"}.get(text, ""))
        prompt.suggester = scripted
        await pilot.press("c")  # what the suggestion said: the rest stays, before any answer
        assert prompt.ghost == "defgh .abcdefgh .abcdefgh" and shown(prompt) == "abcdefgh .abcdefgh .abcdefgh"
        scripted.release.set()
        await suggested(pilot, prompt, "defgh")  # then the new answer replaces it
        scripted.release.clear()
        await pilot.press("x")  # something else: the old suggestion goes at once
        assert prompt.ghost == "" and shown(prompt) == "abcx"
        scripted.release.set()
        await suggested(pilot, prompt, "yz")
        assert scripted.asked == ["abc", "abcx"]


async def test_an_answer_for_an_older_text_never_shows():
    app = CharlmApp(make_engine(), settings=GREEDY, remember=False)
    async with app.run_test() as pilot:
        prompt = main_screen(app).prompt
        scripted = Scripted(lambda text: "OLD" if text == "a" else "new")
        prompt.suggester = scripted
        await pilot.press("a", "b")  # the worker for "a" is still waiting when "b" comes
        scripted.release.set()
        await suggested(pilot, prompt, "new")
        assert "OLD" not in shown(prompt)


async def test_no_suggestion_unless_the_cursor_is_at_the_end():
    async with typed_ab() as (pilot, screen):
        prompt = screen.prompt
        await pilot.press("left")
        assert prompt.ghost == "" and shown(prompt) == "ab"
        await pilot.press("right")  # back at the end: it is still the suggestion for "ab"
        assert prompt.text == "ab" and prompt.ghost == AFTER_AB
        await pilot.press("left", "c")  # an edit in the middle
        assert prompt.text == "acb" and shown(prompt) == "acb"
        await pilot.press("shift+home")
        assert prompt.ghost == ""


async def test_escape_hides_it_until_the_next_keystroke_and_enter_completes_what_was_typed():
    async with typed_ab() as (pilot, screen):
        prompt = screen.prompt
        await pilot.press("escape")
        assert prompt.ghost == "" and shown(prompt) == "ab"
        await pilot.press("tab")  # no suggestion: Tab moves the focus as before
        assert screen.query_one(SettingsPanel).has_focus
        await pilot.press("c")  # typed into the prompt from the panel
        await suggested(pilot, prompt, "defgh .abcdefgh .abcdefgh")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not screen.generating and screen.transcript.last is not None)
        entry = screen.transcript.last
        assert entry.prompt == "abc" and entry.generated == "defgh .abcde"
        assert prompt.ghost == "" and prompt.text == "abc"  # the completion is what to read now
        # The bars and the perplexity are those of what was typed.
        assert screen.query_one(NextChars).shown_for == "abc"
        assert screen.query_one(PromptStats).chars == 3


async def test_escape_with_a_suggestion_showing_also_stops_the_running_completion(gate):
    app = CharlmApp(make_engine(gate=gate), settings=DecodeSettings(mode="greedy", length=50_000),
                    remember=False)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        prompt = screen.prompt
        await pilot.press("a", "enter", "b")
        await suggested(pilot, prompt, AFTER_AB)
        assert screen.generating
        await pilot.press("escape")
        gate.open()
        await wait_until(pilot, lambda: not screen.generating, what="the completion to stop")
        assert screen.transcript.last.status == "cancelled" and prompt.ghost == ""


async def test_a_failing_suggester_is_reported_once_and_typing_goes_on():
    app = CharlmApp(make_engine(), settings=GREEDY, remember=False)
    async with app.run_test() as pilot:
        prompt = main_screen(app).prompt

        class Broken:
            def suggest(self, text, cancelled):
                raise ValueError("no luck")

        prompt.suggester = Broken()
        await pilot.press("a", "b", "c")
        await wait_until(pilot, lambda: len(app._notifications) == 1, what="one warning")
        await pilot.pause(0.05)
        assert [n.message for n in app._notifications] == ["No suggestions: ValueError: no luck"]
        assert prompt.text == "abc" and prompt.ghost == ""


# -- what it comes from ---------------------------------------------------------------------

async def test_sampling_suggests_the_greedy_path_and_a_setting_that_matters_suggests_again():
    app = CharlmApp(make_engine(), settings=DecodeSettings(mode="sample", temperature=3.0), remember=False)
    async with app.run_test() as pilot:
        prompt = main_screen(app).prompt
        await pilot.press("a", "b")
        await suggested(pilot, prompt, AFTER_AB)
        app.update_settings(app.live.get().replace(temperature=0.5))  # greedy does not care
        assert prompt.ghost == AFTER_AB
        app.update_settings(app.live.get().replace(stop=("h",)))  # a completion would end there
        await suggested(pilot, prompt, "cdefg")


async def test_suggestions_turn_off_and_on_and_stay_so_between_launches(charlm_home):
    app = CharlmApp(make_engine(), settings=GREEDY)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        prompt = screen.prompt
        panel = screen.query_one(SettingsPanel)
        await pilot.press("a", "b")
        await suggested(pilot, prompt, AFTER_AB)
        await pilot.press("ctrl+g")
        assert prompt.ghost == "" and shown(prompt) == "ab" and panel.value_of("suggest") == "off"
        await pilot.press("c")
        await pilot.pause(0.05)
        assert prompt.ghost == "" and prompt.answered < prompt.edits, "off: nothing is computed"
    again = CharlmApp(make_engine(), settings=GREEDY)
    assert not again.view.suggest
    async with again.run_test() as pilot:
        screen = main_screen(again)
        await pilot.press("ctrl+g", "a", "b")
        await suggested(pilot, screen.prompt, AFTER_AB)
        # The settings row: shorter suggestions, then off.
        await pilot.press("ctrl+t", "up", "up")  # from "mode" round to the last row
        assert screen.query_one(SettingsPanel).value_of("suggest") == "40 ch"
        await pilot.press("left", "left", "left")
        assert again.view.suggest_length == 10
        await pilot.press("left")
        assert not again.view.suggest


async def test_the_length_setting_caps_a_suggestion_at_a_whole_word():
    app = CharlmApp(make_engine(), settings=GREEDY, remember=False)
    async with app.run_test() as pilot:
        prompt = main_screen(app).prompt
        app.update_view(replace(app.view, suggest_length=10))
        await pilot.press("a", "b")
        await suggested(pilot, prompt, "cdefgh")


async def test_a_long_prompt_still_responds_one_step_per_keystroke():
    engine = make_engine()
    app = CharlmApp(engine, settings=GREEDY, remember=False)
    async with app.run_test() as pilot:
        screen = main_screen(app)
        prompt = screen.prompt
        prompt.set_text("abcdefgh " * 222 + "ab")  # 2,000 characters
        await wait_until(pilot, lambda: screen.query_one(NextChars).shown_for == prompt.text)
        before = engine.model.steps
        await pilot.press("c")
        await suggested(pilot, prompt, "defgh .abcdefgh .abcdefgh")
        assert engine.model.steps - before <= 1 + len(prompt.ghost) + 1, "the prompt was not read again"
        # The end of the prompt is in view, and the suggestion after it (what fits).
        assert shown(prompt).split("\n")[-1] == "abcdefgh abcdefgh abc" + "defgh .abcdefgh .abcdef"
        assert prompt.painted == (prompt.edits, prompt.ghost)


async def test_a_suggestion_longer_than_the_row_goes_on_below_the_text():
    app = CharlmApp(make_engine(), settings=GREEDY, remember=False)
    async with app.run_test(size=(60, 20)) as pilot:
        prompt = main_screen(app).prompt
        await pilot.press(*"abcdefgh abcdefgh abcdefgh abcdefgh ab")
        await suggested(pilot, prompt, AFTER_AB)
        rows = shown(prompt).split("\n")
        width = prompt.content_size.width
        assert len(rows) == 2 and len(rows[0]) == width
        assert "".join(rows) == "abcdefgh abcdefgh abcdefgh abcdefgh ab" + AFTER_AB


def test_the_help_and_the_palette_say_how_to_take_a_suggestion():
    text = help_text()
    for key in ("**→**", "**Tab**", "**Ctrl+→**", "**End**", "**Ctrl+G**"):
        assert key in text
    assert "with none showing, move the focus" in text
    titles = {c.title for c in MainScreen().commands()}
    assert "Suggestions on/off" in titles


# -- the pieces -----------------------------------------------------------------------------

def test_only_what_a_terminal_shows_as_it_is_is_suggested():
    assert displayable("hola che") == "hola che"
    assert displayable("hola\x1b[31m che") == "hola"
    assert displayable("hola\tche") == "hola"
    assert displayable("\u202eevil") == ""


def test_a_word_is_blanks_then_non_blanks():
    assert next_word("cdefgh .ab") == "cdefgh"
    assert next_word(" .abcdefgh .ab") == " .abcdefgh"
    assert next_word("  ") == "  "


def test_rows_of_a_suggestion_fill_the_cursors_row_first():
    assert split_rows("abcdefgh", 3, 4) == ("abc", ("defg", "h"))
    assert split_rows("abc", 0, 4) == ("", ("abc",))
    assert split_rows("日本語", 3, 4) == ("日", ("本語",))
