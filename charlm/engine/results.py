"""The ``num`` results of a completion, in every mode, for the command line and the app alike.

Beam modes get them from one search (the n-best, or samples without
replacement); ``sample`` draws them one after the other, each from its own
random stream derived from the seed (:func:`~charlm.engine.stream.draw_rng`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from charlm.engine.modes import mode as mode_of
from charlm.engine.settings import DecodeSettings, LiveSettings
from charlm.engine.step import StepModel
from charlm.engine.stream import Chunk, Finished, Mark, generate


def results(
    model: StepModel,
    prompt_ids: Sequence[int],
    settings: DecodeSettings | LiveSettings,
    chars: Sequence[str],
    *,
    cancelled: Callable[[], bool] | None = None,
    never: Sequence[int] = (),
) -> Iterator[Chunk | Mark | Finished]:
    """Like :func:`generate`, but the final :class:`Finished` holds ``num`` hypotheses in every mode.

    Beam modes already search at least ``num`` beams (the n-best, or
    ``num`` samples without replacement). ``sample`` streams its first draw,
    then makes ``num - 1`` more from the settings in force when the first
    ended, each with its own random stream (:func:`draw_rng`), unless
    cancelled. Greedy has one result.
    """
    first: Finished | None = None
    for event in generate(model, prompt_ids, settings, chars, cancelled=cancelled, never=never):
        if isinstance(event, Finished):
            first = event
        else:
            yield event
    assert first is not None
    final = settings.get() if isinstance(settings, LiveSettings) else settings
    m = mode_of(final.mode)
    if m.beam or not m.results or final.num == 1 or first.reason == "cancelled":
        yield first
        return
    hyps = list(first.hypotheses[:1])
    fixed = final.replace(num=1)
    for draw in range(1, final.num):
        if cancelled is not None and cancelled():
            break
        for event in generate(model, prompt_ids, fixed, chars, cancelled=cancelled, never=never, draw=draw):
            if isinstance(event, Finished) and event.reason != "cancelled":
                hyps.append(event.hypotheses[0])
    yield Finished(first.text, tuple(hyps), first.reason)
