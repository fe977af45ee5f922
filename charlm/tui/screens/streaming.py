"""The main screen's completions: start, stream, pace, stop, continue, re-roll, results.

Generation runs in thread workers (:mod:`charlm.tui.generation`). A worker
streams from ``engine.stream(context, host.live, ...)``: ``host.live`` is the
app's one :class:`~charlm.engine.settings.LiveSettings`, read by the engine
before every character, so a setting changed on screen reaches the running
completion from its next character without restarting it. Workers talk back
only through messages (:mod:`charlm.tui.messages`), drawn at most once a frame.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import TYPE_CHECKING, cast

from textual import work
from textual.screen import Screen
from textual.worker import get_current_worker

from charlm.engine.modes import describe
from charlm.tui.generation import Generation, run_generation
from charlm.tui.host import Host
from charlm.tui.messages import StreamDone, StreamProgress
from charlm.tui.widgets.prompt import PromptEditor
from charlm.tui.widgets.transcript import Entry, Transcript

if TYPE_CHECKING:
    from charlm.engine.engine import Engine

#: A new entry appears with its first characters, or after this long (beam search
#: may take a while to settle its first character).
SHOW_ENTRY_AFTER = 0.1
#: Streamed text is drawn at most 30 times a second (smooth to read; each redraw costs
#: a few ms of CPU): faster streams are batched, a paced stream draws a few characters a time.
FRAME = 1 / 30
#: The status line (a border of the whole transcript: redrawing it repaints every visible
#: entry) is updated at most this often while streaming, unless a setting changes.
STATUS_EVERY = 0.25
DONE_WORDS = {"length": "done", "stop": "done (stop string)", "cancelled": "stopped", "error": "failed"}


class StreamingScreen(Screen):
    """A screen with a transcript and a prompt that streams completions into the one from the other.

    :class:`~charlm.tui.screens.main.MainScreen` lays it out and adds settings
    and analysis; this class owns the completions.
    """

    def __init__(self) -> None:
        super().__init__()
        self._number = 0
        self._gens: dict[int, Generation] = {}
        self._last_drain = 0.0
        self._status_at = 0.0
        self._pace = 0  # characters per second, read by generation threads (a plain attribute)

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def prompt(self) -> PromptEditor:
        return self.query_one(PromptEditor)

    @property
    def generating(self) -> bool:
        """True while a completion shown on screen is streaming (or finishing after a stop)."""
        return any(not g.discarded for g in self._gens.values())

    # -- starting ---------------------------------------------------------------------------
    def on_prompt_editor_submitted(self, event: PromptEditor.Submitted) -> None:
        self.complete(event.text)

    def complete(self, prompt: str) -> None:
        """Stream a completion of ``prompt`` into a new transcript entry."""
        if self.host.engine is None:
            self.notify("No model is loaded yet.", severity="warning")
            return
        self.host.remember_prompt(prompt)
        self.action_stop()
        self._start(self.transcript.new_entry(prompt), prompt)

    def action_continue(self) -> None:
        """Generate more after the last completion, which becomes part of the prompt."""
        entry = self.transcript.last
        if entry is None or self.host.engine is None:
            self.notify("Nothing to continue yet: press Enter to complete a prompt first.")
            return
        if self.generating:
            # Its last characters may still be on their way: continuing now would lose them.
            self.notify("Wait for the completion to finish, or press Esc first.")
            return
        context = entry.context
        self.prompt.set_text(context)
        self._start(entry, context)

    def action_reroll(self) -> None:
        """Complete the last prompt again, with the settings in force now."""
        entry = self.transcript.last
        if entry is None:
            self.notify("Nothing to re-roll yet: press Enter to complete a prompt first.")
            return
        self.complete(entry.prompt)

    def _start(self, entry: Entry, context: str) -> None:
        engine = self.host.engine
        assert engine is not None
        settings = self.host.live.get()
        entry.begin(settings)
        self._number += 1
        gen = Generation(self._number, entry, settings, offset=len(entry.generated))
        self._gens[gen.number] = gen
        entry.set_status("streaming")
        # The worker first; the screen updates when its first characters arrive.
        self._generate(engine, context, gen)
        self.set_timer(SHOW_ENTRY_AFTER, partial(self._show_entry, gen.number))

    @work(thread=True, group="generate", exit_on_error=False)
    def _generate(self, engine: Engine, context: str, gen: Generation) -> None:
        """Stream in a thread; the engine re-reads the live settings before each character.

        Not ``exclusive``: a generation is stopped by its own event (see
        :mod:`charlm.tui.generation`), so it always reports its end.
        """
        worker = get_current_worker()
        run_generation(engine, self.host.live, context, gen, pace=lambda: self._pace,
                       post=self.post_message, cancelled=lambda: worker.is_cancelled)

    def _show_entry(self, number: int) -> None:
        gen = self._gens.get(number)
        if gen is not None and not gen.discarded:
            self.transcript.show(gen.entry)
            if number == self._number:
                self._show_streaming(gen)

    # -- streaming --------------------------------------------------------------------------
    def on_stream_progress(self, message: StreamProgress) -> None:
        """Draw now, or at the next frame if the last draw was less than a frame ago.

        Until the drain the buffer stays "awake", so the worker posts nothing
        more: one message and one redraw per frame however fast the model is.
        """
        wait = self._last_drain + FRAME - time.monotonic()
        if wait <= 0:
            self._drain(message.generation)
        else:
            self.set_timer(wait, partial(self._drain, message.generation))

    def _drain(self, number: int) -> Generation | None:
        gen = self._gens.get(number)
        if gen is None or gen.discarded:
            return None
        self._last_drain = time.monotonic()
        entry = gen.entry
        text, logprobs, marks = gen.buffer.drain_all()
        if marks:
            entry.add_marks(marks)
        entry.append(text, logprobs)
        gen.shown(len(entry.generated) - gen.offset)
        self.transcript.show(entry)
        if number == self._number and time.monotonic() - self._status_at >= STATUS_EVERY:
            self._show_streaming(gen)
        return gen

    def on_stream_done(self, message: StreamDone) -> None:
        gen = self._drain(message.generation)
        self._gens.pop(message.generation, None)
        if gen is None:  # cleared away while it finished
            return
        entry = gen.entry
        ok = message.reason in ("length", "stop")
        results = [(h.text, h.token_logprobs) for h in message.results] if ok else []
        entry.finish("" if ok else message.reason, results)
        if message.generation == self._number:
            self._show_done(entry, message.reason, gen)
        if message.error:
            self.notify(message.error, title="Generation failed", severity="error", markup=False)

    def _set_progress(self, text: str) -> None:
        self.transcript.border_subtitle = text

    def _show_streaming(self, gen: Generation) -> None:
        """Progress with the settings in force, so a live change shows as it happens."""
        self._status_at = time.monotonic()
        entry = gen.entry
        rate = gen.rate
        speed = f" · {rate:.0f} chars/s" if math.isfinite(rate) else ""
        self._set_progress(f"streaming · {describe(self.host.live.get())} · "
                           f"{len(entry.generated) - gen.offset} chars{speed}")

    def _show_done(self, entry: Entry, reason: str, gen: Generation | None = None) -> None:
        chars = len(entry.generated) - (gen.offset if gen is not None else 0)
        results = len(entry.results)
        choose = f" · ^n result {entry.chosen + 1}/{results}" if results > 1 else ""
        self._set_progress(f"{DONE_WORDS.get(reason, reason)} · {chars} chars{choose} · "
                           "f5 continue · f6 copy")

    # -- stopping, clearing, choosing -------------------------------------------------------
    def action_stop(self) -> None:
        """Stop the running completion; the engine stops before its next character."""
        for gen in self._gens.values():
            gen.stop.set()

    def _stop_and_discard(self) -> None:
        for gen in self._gens.values():
            gen.stop.set()
            gen.discarded = True

    def action_clear(self) -> None:
        """Clear the transcript (a running completion stops and is cleared too)."""
        self._stop_and_discard()
        self.transcript.clear()
        self._set_progress("")

    def action_next_result(self) -> None:
        """Make the next of the selected entry's results its completion."""
        entry = self.transcript.selected
        if entry is None or len(entry.results) < 2:
            self.notify("One result only: set results above 1 (beam, sampled beam or sample) "
                        "and complete again.")
            return
        if any(g.entry is entry for g in self._gens.values()):
            self.notify("Wait for the completion to finish, or press Esc first.")
            return
        entry.choose((entry.chosen + 1) % len(entry.results))
        if entry is self.transcript.last:
            self._show_done(entry, "length")
        self.notify(f"Result {entry.chosen + 1} of {len(entry.results)} is now the completion "
                    "(f5 continues from it).")

    def action_copy(self) -> None:
        """Copy the selected entry's completion (the last entry's unless another is selected)."""
        entry = self.transcript.selected
        if entry is None or not entry.generated:
            self.notify("Nothing to copy yet.")
            return
        self.app.copy_to_clipboard(entry.generated)
        n = self.transcript.entries.index(entry) + 1
        self.notify(f"Copied {len(entry.generated)} characters (the completion of entry {n}).")

    def _stop_streams_on_unmount(self) -> None:
        self._stop_and_discard()
