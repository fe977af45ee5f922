"""The help screen: every key, and what the modes, settings, colours and numbers mean."""

from __future__ import annotations

from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from charlm.engine.modes import TABLE

KEYS = """\
# charlm keys

| Key | What it does |
|---|---|
| **Enter** | complete the prompt (the completion streams into the transcript) |
| **Esc** | stop the running completion and hide the suggestion; in a dialog (this one too), close it |
| **→** | with a suggestion showing (dimmed text after the cursor): take one character of it |
| **Tab** | take one word of the suggestion (**Ctrl+→** too); with none showing, move the focus |
| **End** | take all of the suggestion (**Ctrl+E** too) |
| **Ctrl+G** | suggestions as you type on / off |
| **F5** | continue: the last completion joins the prompt and the model goes on |
| **Ctrl+R** | re-roll: complete the last prompt again with the current settings |
| **Ctrl+N** | next result, when a completion has several (see *results*) |
| **F6** | copy a completion: the last one, or the entry chosen with ↑↓ in the transcript |
| **Ctrl+S** | save the transcript to a Markdown (.md) or text file |
| **Ctrl+L** | clear the transcript |
| **↑ / ↓** | in the prompt: earlier / later prompts (on its first / last line) |
| **Ctrl+F** | search earlier prompts |
| **Ctrl+U** | clear the prompt (Ctrl+Z brings it back) |
| **Ctrl+J** | new line in the prompt, for models that know line breaks |
| **F2** | next decoding mode |
| **F3 / F4** | temperature down / up |
| **F7** | colour generated text by the model's confidence |
| **Ctrl+T** | settings panel (shown or hidden below 80 columns): ↑↓ pick, ←→ change |
| | Enter types a seed or stop string; Tab goes back to the prompt |
| **F8** | choose another model |
| **F9** | model info: what it writes, config, corpus, training history |
| **Ctrl+P** | command palette: every action and setting by name |
| **F1** | this help; **Ctrl+Q** quits |

Anything you type goes to the prompt, wherever the focus is. Every setting can also
be clicked: the ◀ ▶ arrows step it, the model row opens the picker, a bar in the
*next char* panel types that character.

## Suggestions as you type

While you type, the model's continuation shows dimmed after the cursor: to the end
of the word, then two more words, never past a line break, at most *suggest*
characters. Typing what it shows keeps the rest; typing something else asks again.
Greedy and beam suggest what they would write; sample and sampled beam suggest the
greedy path, so the suggestion does not change at random. It shows only with the
cursor at the end of the prompt; Esc and Enter hide it until you type again.

## Settings apply live

Changing a setting while a completion streams takes effect from the next character:
the text so far stays, and a mark such as ‹greedy› in the transcript shows where the
text from the new settings begins. *pace* slows the stream down (characters per
second) so you can steer it; *max* is as fast as the model goes.

"""

SETTINGS = """
- **temp**: temperature; above 1 flattens the choice, below 1 sharpens it (0 = greedy).
- **beams**: how many continuations beam search keeps.
- **results**: how many completions to show (beam: the best ones; sampled beam and
  sample: different draws). Ctrl+N makes another one the completion.
- **top-k / top-p**: sample only among the likeliest characters.
- **no-rep**: never repeat a sequence of this many characters (breaks loops).
- **penalty**: beam search favours longer texts as it grows.
- **stop**: the completion ends just before this text.
- **seed**: the same seed gives the same text; *random* gives a new one each time.
- **suggest**: the longest suggestion as you type, in characters, or *off* (Ctrl+G).

## Numbers and colours

- **perplexity** under the prompt: how surprised the model is by what you typed
  (1 = it predicted every character; the vocabulary size = a blind guess).
- **next char**: the most likely next characters and their probabilities, updated
  on every keystroke.
- **confidence colours** (F7): from red (the model found that character unlikely)
  through yellow to green (nearly certain).
"""


def help_text() -> str:
    """The page: keys, then each mode from the modes table, then settings and numbers."""
    modes = "\n".join(f"- **{m.label}**: {m.help}." for m in TABLE)
    return KEYS + modes + "\n" + SETTINGS


class HelpScreen(ModalScreen[None]):
    """Keys and explanations, over the main screen."""

    BINDINGS = [Binding("escape,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            # Rich's renderer: a static page needs none of the Markdown widget's machinery.
            yield Static(Markdown(help_text()), id="help-text")
        yield Footer()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
