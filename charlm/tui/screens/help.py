"""The help screen: every key, and what the modes, colours and numbers mean."""

from __future__ import annotations

from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
# charlm keys

| Key | What it does |
|---|---|
| **Enter** | complete the prompt (the completion streams into the transcript) |
| **Ctrl+J** | new line in the prompt (Shift+Enter where the terminal supports it) |
| **Esc** | stop the running completion |
| **F5** | continue: the last completion joins the prompt and the model goes on |
| **F6** | copy the last completion to the clipboard |
| **Ctrl+L** | clear the transcript |
| **F2** | next decoding mode (greedy → beam → sampled beam → sample) |
| **F3 / F4** | temperature down / up |
| **F7** | colour generated text by the model's confidence |
| **F8** | choose another model from the store |
| **F9** | model info: config, corpus, training history |
| **Tab** | move to the settings panel: ↑↓ pick a setting, ←→ or −/+ change it |
| **Ctrl+P** | command palette (modes, models, themes) |
| **F1** | this help; **Ctrl+Q** quits |

Every setting can also be clicked: the ◀ ▶ arrows step it, the model row opens the
picker, a bar in the *next char* panel types that character.

## Settings apply live

Changing the mode or the temperature while a completion streams takes effect from the
next character: the text so far stays, and the model continues with the new setting.
The seed applies to the next completion.

- **greedy**: always the most likely character.
- **beam**: keeps the *beams* most likely continuations and streams what they agree on.
- **sampled beam**: stochastic beam search (different runs, still coherent).
- **sample**: draw each character; **temp** flattens (>1) or sharpens (<1) the choice,
  **top-k / top-p** restrict it to the likeliest characters.

## Numbers and colours

- **perplexity** under the prompt: how surprised the model is by what you typed
  (1 = it predicted every character; the vocabulary size = a blind guess).
- **next char**: the most likely next characters and their probabilities, updated
  on every keystroke.
- **confidence colours** (F7): red = the model found that character unlikely,
  yellow, accent, primary, green = nearly certain.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and explanations, over the main screen."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            # Rich's renderer: a static page needs none of the Markdown widget's machinery.
            yield Static(Markdown(HELP), id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
