"""Screenshots of the main screen (80x24, 120x40 and a narrow 60x20), results, a suggestion
as you type and the no-model screen.

A deterministic toy engine and greedy decoding make the pictures stable.
Regenerate with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and
look at the SVGs in ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from charlm.engine.settings import DecodeSettings
from charlm.tui.app import CharlmApp
from charlm.tui.screens.main import MainScreen
from charlm.tui.screens.no_model import NoModelScreen
from charlm.tui.widgets.next_chars import NextChars
from charlm.tui.widgets.prompt import PromptStats
from tests.tui.conftest import make_engine, wait_until

PROMPT = "abc"


def workbench(**settings) -> CharlmApp:
    settings = {"mode": "greedy", "length": 40, **settings}
    return CharlmApp(make_engine(), settings=DecodeSettings(**settings), prompt=PROMPT, remember=False)


async def complete_once(pilot, *keys: str) -> None:
    """Complete the prompt, then wait until every panel shows its final state."""
    app = pilot.app
    screen = app.screen
    assert isinstance(screen, MainScreen)
    await wait_until(pilot, lambda: bool(screen.query("#prompt")), what="the screen to compose")
    screen.prompt.cursor_blink = False
    await pilot.press("enter", *keys)
    await wait_until(pilot, lambda: not screen.generating and screen.transcript.last is not None)
    await wait_until(pilot, lambda: screen.query_one(NextChars).shown_for == PROMPT
                     and screen.query_one(PromptStats).chars == len(PROMPT))
    await pilot.pause()


def test_main_screen_80x24(snap_compare):
    assert snap_compare(workbench(), terminal_size=(80, 24), run_before=complete_once)


def test_main_screen_120x40(snap_compare):
    assert snap_compare(workbench(), terminal_size=(120, 40), run_before=complete_once)


def test_narrow_main_screen_60x20(snap_compare):
    assert snap_compare(workbench(), terminal_size=(60, 20), run_before=complete_once)


def test_narrow_settings_panel_shown_60x20(snap_compare):
    async def open_panel(pilot) -> None:
        await complete_once(pilot, "ctrl+t", "down")

    assert snap_compare(workbench(), terminal_size=(60, 20), run_before=open_panel)


def test_several_results_100x30(snap_compare):
    app = workbench(mode="beam", num=3, length=30)
    assert snap_compare(app, terminal_size=(100, 30), run_before=complete_once)


def test_confidence_colours_80x24(snap_compare):
    async def coloured(pilot) -> None:
        await complete_once(pilot, "f7")

    # Seeded sampling: characters of every confidence, the same ones each run.
    app = workbench(mode="sample", temperature=1.5, seed=7)
    assert snap_compare(app, terminal_size=(80, 24), run_before=coloured)


def test_suggestion_as_you_type_80x24(snap_compare):
    async def type_on(pilot) -> None:
        screen = pilot.app.screen
        await wait_until(pilot, lambda: bool(screen.query("#prompt")), what="the screen to compose")
        prompt = screen.prompt
        prompt.cursor_blink = False
        await pilot.press(*" abcdefgh abcdefgh abcd")
        await wait_until(pilot, lambda: prompt.ghost and prompt.answered == prompt.edits
                         and screen.query_one(NextChars).shown_for == prompt.text)
        await pilot.pause()

    # Longer than the rest of its row: the suggestion goes on below the text.
    assert snap_compare(workbench(), terminal_size=(80, 24), run_before=type_on)


def test_no_model_screen_80x24(snap_compare, no_builtin):
    async def wait_for_screen(pilot) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, NoModelScreen))
        await pilot.pause()

    assert snap_compare(CharlmApp(), terminal_size=(80, 24), run_before=wait_for_screen)
