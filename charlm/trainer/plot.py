"""Validation-perplexity curves of stored models, written to an image file.

matplotlib is an optional extra (``charlm[plot]``): it is imported only here,
inside functions, and drawn with the Agg canvas on a bare ``Figure`` so no
window system, no pyplot global state and no interactive backend is involved.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from charlm.errors import ConfigError, MissingExtraError
from charlm.store import ModelRecord

INSTALL_HINT = "pip install 'charlm[plot]'"


def check_available() -> None:
    """Fail fast (before an hour of training) when matplotlib is missing.

    Raises:
        MissingExtraError: matplotlib cannot be imported.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"plotting needs matplotlib: {INSTALL_HINT}") from None


def _label(record: ModelRecord) -> str:
    return f"{record.name or 'model'} ({record.label}, best {record.val_perplexity:.3f})"


def plot_histories(records: Sequence[ModelRecord], path: Path) -> Path:
    """Draw validation perplexity per epoch, one curve per model, and save it to ``path``.

    The best epoch of each model (the weights that were kept) is marked, because
    that is the number the store reports, not the last point of the curve.
    The format follows the file suffix (.png, .svg, .pdf); the file is written
    beside its final place and renamed in, so a failed save leaves no half image.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ConfigError: no model has a training history, or the file cannot be written.
    """
    check_available()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    curves = [r for r in records if r.history]
    if not curves:
        raise ConfigError("nothing to plot: the model has no training history")
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"

    fig = Figure(figsize=(8, 4.8), dpi=100, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    if fmt not in canvas.get_supported_filetypes():
        known = ", ".join(sorted(canvas.get_supported_filetypes()))
        raise ConfigError(f"cannot write a .{fmt} image (use one of: {known})")
    ax = fig.add_subplot()
    for record in curves:
        epochs = [e.epoch for e in record.history]
        ppl = [e.val_perplexity if math.isfinite(e.val_perplexity) else math.nan for e in record.history]
        (line,) = ax.plot(epochs, ppl, marker="o", markersize=3, label=_label(record))
        best = [e for e in record.history if e.epoch == record.best_epoch]
        if best:
            ax.plot([best[0].epoch], [best[0].val_perplexity], marker="*", markersize=12, color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation perplexity (exact, held-out tail)")
    ax.set_title("validation perplexity per epoch (* = kept weights)")
    ax.grid(True, alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize="small")

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fig.savefig(tmp, format=fmt)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
