"""The main screen: prompt, streaming transcript, live settings and next-character bars.

Generation and analysis run in thread workers. A generation worker streams
from ``engine.stream(context, app.live, cancelled=...)``: ``app.live`` is the
app's one :class:`~charlm.engine.settings.LiveSettings`, read by the engine
before every character, so a setting changed here (key or click) reaches the
running completion from its next character without restarting it. Workers
talk back only through messages (see :mod:`charlm.tui.messages`).
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, get_current_worker

from charlm.engine.prefix import PrefixCache
from charlm.engine.settings import MODE_LABELS, LiveSettings
from charlm.errors import ConfigError
from charlm.tui.messages import (
    AdjustSetting,
    AnalysisReady,
    ChooseModel,
    PickChar,
    StreamBuffer,
    StreamDone,
    StreamProgress,
)
from charlm.tui.widgets.next_chars import NextChars
from charlm.tui.widgets.prompt import PromptEditor, PromptStats
from charlm.tui.widgets.settings_panel import CONFIDENCE, SettingsPanel, step_setting
from charlm.tui.widgets.transcript import Entry, Transcript

if TYPE_CHECKING:
    from charlm.engine.engine import Engine
    from charlm.tui.app import CharlmApp

#: How many characters the next-character panel asks for (it shows as many as fit).
TOP_CHARS = 30
#: An edit whose model steps should take at most this long is analysed on the UI
#: thread (a keystroke is one step, ~0.2 ms for the default model); bigger ones
#: (pastes, continuations, a new model, a huge model) go to a worker.
INLINE_BUDGET = 0.004
#: A new entry appears with its first characters, or after this long (beam search
#: may take a while to settle its first character).
SHOW_ENTRY_AFTER = 0.1
#: Streamed text is drawn at most once per frame (60 Hz): faster models are batched.
FRAME = 1 / 60
TEMP = Binding.Group("Temp", compact=True)


class MainScreen(Screen):
    """Everything a user does with a loaded model."""

    BINDINGS = [
        Binding("escape", "stop", "Stop"),
        Binding("f2", "adjust('mode', 1)", "Mode"),
        Binding("f3", "adjust('temperature', -1)", "Temp −", group=TEMP),
        Binding("f4", "adjust('temperature', 1)", "Temp +", group=TEMP),
        # Shown in the transcript's subtitle instead: a footer that changed with the
        # generation state would be rebuilt just when the first character is due.
        Binding("f5", "continue", "Continue", show=False),
        # Priority: the prompt's TextArea binds F6/F7 to line/all selection.
        Binding("f6", "copy", "Copy", show=False, priority=True),
        Binding("f7", "adjust('confidence', 1)", "Colour", show=False, priority=True),
        Binding("ctrl+l", "clear", "Clear", show=False),
    ]

    def __init__(self, prompt: str = "") -> None:
        super().__init__()
        self._initial_prompt = prompt
        self._generation = 0
        self._streams: dict[int, tuple[Entry, StreamBuffer]] = {}
        self._worker: Worker | None = None
        self._last_drain = 0.0
        self._cache: PrefixCache | None = None
        self.confidence = False

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="main-column"):
                yield Transcript(id="transcript")
                yield PromptEditor(self._initial_prompt, id="prompt",
                                   on_change=lambda _: self._analyze_prompt())
                yield PromptStats(id="stats")
            with Vertical(id="side"):
                yield SettingsPanel(id="settings")
                yield NextChars(id="next-chars")
        yield Footer()

    @property
    def charlm(self) -> CharlmApp:
        return cast("CharlmApp", self.app)

    @property
    def live(self) -> LiveSettings:
        return self.charlm.live

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def prompt(self) -> PromptEditor:
        return self.query_one(PromptEditor)

    @property
    def generating(self) -> bool:
        """True while a completion is streaming (or finishing after a cancel)."""
        return bool(self._streams)

    def on_mount(self) -> None:
        self.prompt.move_cursor(self.prompt.document.end)
        self.prompt.focus()
        self.watch(self.app, "engine", self._engine_changed, init=True)

    def _engine_changed(self, engine: Engine | None) -> None:
        self.action_stop()
        self._cache = PrefixCache(engine) if engine is not None else None
        self.sub_title = self.charlm.model_label
        self.show_settings()
        self._analyze_prompt()

    def show_settings(self) -> None:
        engine = self.charlm.engine
        self.query_one(SettingsPanel).show(
            self.live.get(), self.charlm.model_label,
            engine.record if engine is not None else None, self.confidence,
        )

    # -- completion -----------------------------------------------------------------------
    @on(PromptEditor.Submitted)
    def _submitted(self, event: PromptEditor.Submitted) -> None:
        self.complete(event.text)

    def complete(self, prompt: str) -> None:
        """Stream a completion of ``prompt`` into a new transcript entry."""
        if self.charlm.engine is None:
            self.notify("No model is loaded yet.", severity="warning")
            return
        self.action_stop()
        self._start(self.transcript.new_entry(prompt), prompt)

    def action_continue(self) -> None:
        """Generate more after the last completion, which becomes part of the prompt."""
        entry = self.transcript.last
        if entry is None or self.charlm.engine is None:
            self.notify("Nothing to continue yet: press Enter to complete a prompt first.")
            return
        if self.generating:
            # Its last characters may still be on their way: continuing now would lose them.
            self.notify("Wait for the completion to finish, or press Esc first.")
            return
        context = entry.context
        self.prompt.set_text(context)
        self._start(entry, context)

    def _start(self, entry: Entry, context: str) -> None:
        engine = self.charlm.engine
        assert engine is not None
        self._generation += 1
        buffer = StreamBuffer()
        self._streams[self._generation] = (entry, buffer)
        entry.set_status("streaming")
        # The worker first; the screen updates when its first characters arrive.
        self._worker = self._generate(self._generation, engine, self.live, context, buffer)
        self.set_timer(SHOW_ENTRY_AFTER, partial(self._show_entry, self._generation))

    def _show_entry(self, generation: int) -> None:
        stream = self._streams.get(generation)
        if stream is not None:
            self.transcript.show(stream[0])
            if generation == self._generation:
                self._show_streaming(stream[0])

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False)
    def _generate(self, generation: int, engine: Engine, live: LiveSettings, context: str,
                  buffer: StreamBuffer) -> None:
        """Stream in a thread; the engine re-reads ``live`` before each character."""
        from charlm.engine.stream import Chunk, Finished

        worker = get_current_worker()
        reason, error = "cancelled", ""
        try:
            for event in engine.stream(context, live, cancelled=lambda: worker.is_cancelled):
                if isinstance(event, Chunk):
                    if event.text and buffer.push(event.text, event.logprobs):
                        self.post_message(StreamProgress(generation))
                elif isinstance(event, Finished):
                    reason = event.reason
        except Exception as exc:  # reported in the UI; the app keeps running
            reason, error = "error", f"{type(exc).__name__}: {exc}"
        self.post_message(StreamDone(generation, reason, error))

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

    def _drain(self, generation: int) -> None:
        stream = self._streams.get(generation)
        if stream is None:
            return
        self._last_drain = time.monotonic()
        entry, buffer = stream
        text, logprobs = buffer.drain()
        entry.append(text, logprobs)
        self.transcript.show(entry)
        if generation == self._generation:
            self._show_streaming(entry)

    def on_stream_done(self, message: StreamDone) -> None:
        stream = self._streams.pop(message.generation, None)
        if stream is None:
            return
        entry, buffer = stream
        text, logprobs = buffer.drain()
        entry.append(text, logprobs)
        self.transcript.show(entry)
        entry.set_status("" if message.reason in ("length", "stop") else message.reason)
        if message.generation == self._generation:
            words = {"length": "done", "stop": "done (stop string)", "cancelled": "stopped",
                     "error": "failed"}
            self._set_progress(f"{words.get(message.reason, message.reason)} · "
                               f"{len(entry.generated)} chars · f5 continue · f6 copy")
        if message.error:
            self.notify(message.error, title="Generation failed", severity="error")

    def _set_progress(self, text: str) -> None:
        self.transcript.border_subtitle = text

    def _show_streaming(self, entry: Entry) -> None:
        """Progress with the settings in force, so a live change shows as it happens."""
        s = self.live.get()
        temp = f" {s.temperature:.2f}" if s.mode in ("sample", "sampled-beam") else ""
        self._set_progress(f"streaming · {MODE_LABELS[s.mode]}{temp} · "
                           f"{len(entry.generated)} chars")

    def action_stop(self) -> None:
        """Cancel the running completion; the engine stops before its next character."""
        if self._worker is not None:
            self._worker.cancel()

    def action_copy(self) -> None:
        entry = self.transcript.last
        if entry is None or not entry.generated:
            self.notify("Nothing to copy yet.")
            return
        self.app.copy_to_clipboard(entry.generated)
        self.notify(f"Copied {len(entry.generated)} characters of the last completion.")

    def action_clear(self) -> None:
        self.action_stop()
        self.transcript.clear()
        self._set_progress("")

    # -- settings -------------------------------------------------------------------------
    def action_adjust(self, key: str, direction: int) -> None:
        """Step one setting; a running completion uses it from its next character."""
        if key == CONFIDENCE:
            self.confidence = not self.confidence
            self.transcript.set_confidence(self.confidence)
        else:
            try:
                changed = step_setting(self.live.get(), key, direction)
            except ConfigError as exc:  # e.g. a seed already at its maximum
                self.notify(str(exc), severity="warning")
                return
            # Only the UI thread writes, so read-modify-write cannot lose a change.
            self.live.set(changed)
            stream = self._streams.get(self._generation)
            if stream is not None:
                self._show_streaming(stream[0])
        self.show_settings()

    @on(AdjustSetting)
    def _adjust_message(self, message: AdjustSetting) -> None:
        self.action_adjust(message.key, message.direction)

    @on(ChooseModel)
    def _choose_model(self) -> None:
        self.charlm.action_choose_model()

    @on(PickChar)
    def _pick_char(self, message: PickChar) -> None:
        self.prompt.insert(message.char)
        self.prompt.focus()

    # -- live analysis of the prompt ------------------------------------------------------
    def _analyze_prompt(self) -> None:
        """Refresh the next-character bars and perplexity for the current prompt.

        Typing or deleting a character costs at most one model step with the
        prefix cache, so it is done right here: no thread hop between the
        keystroke and the bars, which then paint in the keystroke's frame
        (see ``PromptEditor``). Anything bigger runs in a worker.
        """
        cache = self._cache
        if cache is None:
            return
        text = self.prompt.text
        result = cache.try_analyze(text, TOP_CHARS, INLINE_BUDGET)
        if result is None:
            self._analyze(cache, text)
        else:
            distribution, perplexity = result
            self._show_analysis(text, distribution, perplexity, cache.engine.unknown_chars(text))

    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False)
    def _analyze(self, cache: PrefixCache, text: str) -> None:
        """The same off the UI thread, for changes of many characters (paste, new model)."""
        worker = get_current_worker()
        distribution, perplexity = cache.analyze(text, TOP_CHARS)
        if not worker.is_cancelled:
            unknown = cache.engine.unknown_chars(text)
            self.post_message(AnalysisReady(text, distribution, perplexity, unknown))

    def on_analysis_ready(self, message: AnalysisReady) -> None:
        if message.text == self.prompt.text:  # else a newer keystroke already answered
            self._show_analysis(message.text, message.distribution, message.perplexity,
                                message.unknown)

    def _show_analysis(self, text: str, distribution: list[tuple[str, float]],
                       perplexity: float, unknown: tuple[str, ...]) -> None:
        self.query_one(NextChars).show(text, distribution)
        self.query_one(PromptStats).show(perplexity, len(text), unknown)
