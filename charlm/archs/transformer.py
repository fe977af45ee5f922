"""A decoder-only causal Transformer (GPT-style, pre-LayerNorm), as nanoGPT's ``model.py``.

Token embedding plus positions, N blocks of ``x + attn(ln1(x))`` and
``x + mlp(ln2(x))`` (causal multi-head self-attention; a 4x MLP with GELU),
a final LayerNorm and a dense layer to the logits. Biases everywhere, no
weight tying (the output layer is ``logits`` as in every charlm model; for
a character vocabulary the untied head costs vocab x width parameters, a
few thousand). Dropout where nanoGPT has it: after the embedding, on the
attention probabilities and at the end of both residual branches. The Keras
model is in :mod:`charlm.archs.transformer_keras`; this module imports no
TensorFlow.

Choices:

* **Positions: learned by default** (nanoGPT's ``wpe``): the reference a
  user would compare with learns them, they cost block x width parameters
  (8,192 at the defaults), and the sliding window below always re-encodes
  from position 0, so sinusoidal positions' one advantage -- extrapolating
  past the trained length -- is never used. ``--positions sinusoidal``
  (Vaswani et al.'s fixed table, no weights) is there for very small corpora.
* **GELU: the tanh approximation** (GPT-2's own;
  ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``), which numpy
  computes with exactly the formula Keras uses. nanoGPT uses the erf form;
  the two differ by less than 1e-3 and numpy has no erf.
* LayerNorm epsilon 1e-5 (nanoGPT's; Keras's default is 1e-3).

**The numpy runtime** keeps a key/value cache: reading one more character
costs one step (attention of the new position over the cached keys), for all
beams at once. Its state is ``(window ids (B, block), window length (B,),
keys and values (B, layers, 2, heads, block, head width))``, batch first, so
:func:`charlm.archs.base.take` selects beams.

**Past the block size: a sliding window.** The model conditions on a window
of at most ``block_size`` characters, encoded at positions ``0 ..``. When the
window is full and one more character arrives, the window keeps its last
``block_size // 2`` characters (:func:`kept_after_slide`), re-encodes them at
positions ``0 ..`` together with the new character in one batched pass, and
grows again from there. So the first ``block_size`` predictions of a text see
all of it, and every later one sees between ``block_size // 2 + 1`` and
``block_size`` characters (33 to 64 at block 64) -- the windows nanoGPT's own
exact evaluation scores with (``eval_exact.py``: stride ``block_size // 2``).
Re-encoding costs about one extra token pass per new character on average.

**Perplexity of a text longer than the block size** is therefore
``exp(-(1/N) sum_t log p(x_t | window_t))`` with ``window_t`` the window this
policy holds after reading ``x_1 .. x_{t-1}`` (the document separator
first). ``run`` reads a chunk with exactly the windows repeated ``step`` calls
would hold, a window's new characters in one matrix pass, with memory
bounded by the block size and the chunk; ``eval``, validation and the app all
read through it (``charlm.engine.scoring``), so they agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from charlm.archs.base import ArchConfig, Architecture, Layout, State, check_divisible, log_softmax, take
from charlm.errors import ConfigError
from charlm.spec import Spec, setting

POSITIONS = ("learned", "sinusoidal")
LN_EPSILON = 1e-5
GELU_C = float(np.sqrt(2.0 / np.pi))


@dataclass(frozen=True)
class TransformerConfig(ArchConfig):
    """Sizes of the Transformer. Defaults: nanoGPT's CPU recipe for characters
    (4 layers, 4 heads, 128 wide, block 64, no dropout)."""

    ARCH: ClassVar[str] = "transformer"

    layers: int = setting(4, Spec(int, 1, 16, flag="--layers", help="Stacked layers."))
    heads: int = setting(4, Spec(int, 1, 64, flag="--heads", help="Attention heads per layer."))
    embedding: int = setting(128, Spec(int, 1, 1024, flag="--embedding",
                                       help="Model width (embedding and residual stream), a multiple of --heads."))
    block_size: int = setting(64, Spec(int, 2, 4096, flag="--block-size", label="block-size",
                                       help="Context length: the most characters a prediction sees."))
    dropout: float = setting(0.0, Spec(float, 0.0, 1.0, hi_open=True, flag="--dropout",
                                       help="Dropout on embeddings, attention and residual branches."))
    positions: str = setting("learned", Spec(str, choices=POSITIONS, flag="--positions",
                                             help="Position encoding: learned (as nanoGPT) or sinusoidal (fixed)."))

    def check(self) -> None:
        check_divisible(self.embedding, self.heads,
                        f"--embedding ({self.embedding}) must be a multiple of --heads ({self.heads})")

    @property
    def head_width(self) -> int:
        return self.embedding // self.heads

    def train_defaults(self) -> dict[str, Any]:
        """nanoGPT's recipe for characters: AdamW at 1e-3 (beta2 0.99 in the trainer),
        weight decay 0.1, 100 batches of warm-up, gradients clipped at norm 1, chunks as long
        as the context, small batches, and a cosine schedule to a tenth of the rate over the
        budget (the time limit, else the epochs).

        Measured on an English novel, one core, 600 s (docs/experiments.md): batches of 16
        with the cosine schedule reached 1.483 nats per character of held-out text, batches
        of 16 halved on a plateau 1.526, batches of 64 halved on a plateau 1.558.
        """
        return {"optimizer": "adamw", "learning_rate": 1e-3, "weight_decay": 0.1, "warmup": 100,
                "clipnorm": 1.0, "schedule": "cosine", "batch_size": 16, "seq_length": self.block_size}


def kept_after_slide(block_size: int) -> int:
    """Characters a full window keeps when the next one arrives (see the module docstring)."""
    return block_size // 2


def sinusoid_table(block_size: int, width: int) -> np.ndarray:
    """Vaswani et al.'s fixed positions: sin on even, cos on odd columns, float32."""
    pos = np.arange(block_size, dtype=np.float64)[:, None]
    i = np.arange(width)
    angle = pos / np.power(10000.0, (2 * (i // 2)) / width)
    return np.where(i % 2 == 0, np.sin(angle), np.cos(angle)).astype(np.float32)


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (Keras's ``gelu(approximate=True)``): a new array."""
    y = x * x
    y *= 0.044715
    y += 1.0
    y *= x
    y *= GELU_C  # sqrt(2/pi) (x + 0.044715 x^3)
    np.tanh(y, out=y)
    y += 1.0
    y *= x
    y *= 0.5
    return y


def normalize(x: np.ndarray) -> np.ndarray:
    """LayerNorm of the last axis without its scale and shift (folded into the next layer)."""
    inv = 1.0 / x.shape[-1]
    centred = x - np.add.reduce(x, axis=-1, keepdims=True) * inv
    var = np.add.reduce(centred * centred, axis=-1, keepdims=True) * inv
    centred /= np.sqrt(var + LN_EPSILON)
    return centred


def fold(gamma: np.ndarray, beta: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
         scale: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A LayerNorm's scale and shift folded into the dense layer after it (and ``scale``
    into its columns): ``(n * gamma + beta) @ K + b == n @ (gamma K) + (beta K + b)``."""
    g, bt, k, b = (np.asarray(a, np.float64) for a in (gamma, beta, kernel, bias))
    return (g[:, None] * k * scale).astype(np.float32), ((bt @ k + b) * scale).astype(np.float32)


def slide(tokens: np.ndarray, length: int, ids: np.ndarray, block_size: int) -> tuple[np.ndarray, int, bool]:
    """The window policy for one more id per row: ``(window ids (B, block), new length, slid)``.

    Rows share one length. A full window keeps its last :func:`kept_after_slide`
    ids before taking the new one (``slid``: everything is re-encoded from 0).
    """
    out = np.zeros_like(tokens)
    if length < block_size:
        out[:, :length] = tokens[:, :length]
        out[:, length] = ids
        return out, length + 1, False
    keep = kept_after_slide(block_size)
    out[:, :keep] = tokens[:, block_size - keep :]
    out[:, keep] = ids
    return out, keep + 1, True


def by_length(step: Callable[[State, np.ndarray], tuple[State, np.ndarray]], state: State, ids: np.ndarray
              ) -> tuple[State, np.ndarray]:
    """Step rows whose windows differ in length group by group (``state[1]`` is the length).

    Beams advance together and never need this; it keeps ``step`` correct for
    any mix of states a caller stacks.
    """
    lengths = state[1]
    groups = [np.flatnonzero(lengths == n) for n in np.unique(lengths)]
    results = [step(take(state, rows), ids[rows]) for rows in groups]
    order = np.argsort(np.concatenate(groups), kind="stable")
    merged = tuple(np.concatenate(parts)[order] for parts in zip(*(s for s, _ in results), strict=True))
    return merged, np.concatenate([lp for _, lp in results])[order]


class Transformer(Architecture):
    name = "transformer"
    title = "Transformer"
    config_cls = TransformerConfig
    summary = "decoder-only causal Transformer (GPT-style)"

    def label(self, config: TransformerConfig) -> str:  # type: ignore[override]
        return f"{self.title} {config.layers}×{config.embedding}"

    def describe(self, config: TransformerConfig) -> str:  # type: ignore[override]
        layers = f"{config.layers} layer{'s' if config.layers > 1 else ''}"
        heads = f"{config.heads} head{'s' if config.heads > 1 else ''}"
        return (f"{self.title}, {layers} × {config.embedding} wide, {heads}, block {config.block_size}, "
                f"{config.positions} positions, dropout {config.dropout:g}")

    def layout(self, config: TransformerConfig, vocab_size: int) -> Layout:  # type: ignore[override]
        d = config.embedding
        layout: Layout = {"embed.0": (vocab_size, d)}
        if config.positions == "learned":
            layout["pos.0"] = (config.block_size, d)
        for i in range(config.layers):
            b = f"block{i}_"
            layout.update({
                f"{b}ln1.0": (d,), f"{b}ln1.1": (d,),
                f"{b}attn_qkv.0": (d, 3 * d), f"{b}attn_qkv.1": (3 * d,),
                f"{b}attn_proj.0": (d, d), f"{b}attn_proj.1": (d,),
                f"{b}ln2.0": (d,), f"{b}ln2.1": (d,),
                f"{b}mlp_fc.0": (d, 4 * d), f"{b}mlp_fc.1": (4 * d,),
                f"{b}mlp_proj.0": (4 * d, d), f"{b}mlp_proj.1": (d,),
            })
        layout.update({"ln_f.0": (d,), "ln_f.1": (d,), "logits.0": (d, vocab_size), "logits.1": (vocab_size,)})
        return layout

    def check_training(self, config: TransformerConfig, training: Any) -> None:  # type: ignore[override]
        """No carried state between batches, and chunks no longer than the context."""
        super().check_training(config, training)
        if training.seq_length > config.block_size:
            raise ConfigError(f"--seq-length ({training.seq_length}) must not exceed --block-size "
                              f"({config.block_size}) for the transformer")

    def build_keras(self, config: TransformerConfig, vocab_size: int, *,  # type: ignore[override]
                    stateful_batch: int | None = None):
        if stateful_batch is not None:
            raise ConfigError("--stateful needs a recurrent architecture (not transformer)")
        from charlm.archs.transformer_keras import build_model

        return build_model(config, vocab_size)

    def keras_runtime(self, config: TransformerConfig, weights: Mapping[str, np.ndarray]):  # type: ignore[override]
        from charlm.archs.transformer_keras import KerasWindowRuntime

        return KerasWindowRuntime(self, config, weights)

    def runtime(self, config: TransformerConfig,  # type: ignore[override]
                weights: Mapping[str, np.ndarray]) -> TransformerRuntime:
        return TransformerRuntime(config, weights)

    def search_space(self, hp: Any) -> dict[str, Any]:
        """A small space for a 2-core CPU. Names are prefixed: keras-tuner 1.4.8 keeps one
        value per name, and ``ensure_active_values`` drops it when a same-named twin in
        another architecture's scope is inactive (the recurrent space has ``layers``).
        Values are None while another architecture is the one chosen."""
        dropout = hp.Float("transformer_dropout", 0.0, 0.2, step=0.1)
        return {
            "layers": hp.Choice("transformer_layers", [2, 4]),
            "heads": hp.Choice("transformer_heads", [2, 4]),
            "embedding": hp.Choice("transformer_width", [64, 128, 192]),
            "block_size": hp.Choice("transformer_block", [64, 128]),
            "dropout": None if dropout is None else round(dropout, 6),
        }


class _Block:
    """One block's weights as float32, LayerNorms folded into the dense layers after them and
    the attention scale 1/sqrt(head width) into the query columns."""

    def __init__(self, weights: Mapping[str, np.ndarray], i: int, heads: int):
        def w(name: str, k: int) -> np.ndarray:
            return np.asarray(weights[f"block{i}_{name}.{k}"], dtype=np.float32)

        d = w("attn_proj", 1).shape[0]
        query_scale = np.ones(3 * d)
        query_scale[:d] = 1.0 / np.sqrt(d // heads)
        self.qkv, self.qkv_b = fold(w("ln1", 0), w("ln1", 1), w("attn_qkv", 0), w("attn_qkv", 1), query_scale)
        self.proj, self.proj_b = w("attn_proj", 0), w("attn_proj", 1)
        self.fc, self.fc_b = fold(w("ln2", 0), w("ln2", 1), w("mlp_fc", 0), w("mlp_fc", 1))
        self.out, self.out_b = w("mlp_proj", 0), w("mlp_proj", 1)


class TransformerRuntime:
    """The Transformer as a batched step function with a key/value cache (implements ``StepModel``)."""

    #: Scoring reads one stream: ``run`` already reads a window per matrix pass, and parallel
    #: streams would copy key/value caches every step (exact, but about 2x slower, measured).
    scoring_streams = 1

    def __init__(self, config: TransformerConfig, weights: Mapping[str, np.ndarray]):
        from charlm.archs.recurrent import single_threaded_blas

        single_threaded_blas()
        self.config = config
        self.block, self.keep = config.block_size, kept_after_slide(config.block_size)
        self.heads, self.head_width = config.heads, config.head_width
        self.embed = np.asarray(weights["embed.0"], dtype=np.float32)
        self.vocab_size = self.embed.shape[0]
        self.pos = (np.asarray(weights["pos.0"], dtype=np.float32) if config.positions == "learned"
                    else sinusoid_table(config.block_size, config.embedding))
        self.blocks = [_Block(weights, i, config.heads) for i in range(config.layers)]
        self.out_kernel, self.out_bias = fold(weights["ln_f.0"], weights["ln_f.1"], weights["logits.0"],
                                              weights["logits.1"])
        # Causal mask by absolute position: query p sees keys 0..p.
        self.mask = np.triu(np.full((self.block, self.block), -np.inf, np.float32), k=1)

    def initial_state(self, batch: int = 1) -> State:
        c = self.config
        return (np.zeros((batch, self.block), np.int32), np.zeros(batch, np.int32),
                np.zeros((batch, c.layers, 2, self.heads, self.block, self.head_width), np.float32))

    # -- the network ---------------------------------------------------------------------
    def _encode(self, cache: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Encode ``ids`` (B, T) at positions ``start ..`` given the cache of positions
        ``< start``; writes their keys and values into ``cache`` (in place) and returns the
        final hidden states (B, T, width), before the last LayerNorm.

        Dense layers see (B*T, width) matrices: few, large numpy calls per layer.
        """
        b, t = ids.shape
        end = start + t
        h_, w_ = self.heads, self.head_width
        x = (self.embed[ids] + self.pos[start:end]).reshape(b * t, h_ * w_)
        for i, blk in enumerate(self.blocks):
            qkv = normalize(x) @ blk.qkv
            qkv += blk.qkv_b
            q, k, v = qkv.reshape(b, t, 3, h_, w_).transpose(2, 0, 3, 1, 4)  # each (B, H, T, w)
            cache[:, i, 0, :, start:end] = k
            cache[:, i, 1, :, start:end] = v
            scores = q @ cache[:, i, 0, :, :end].swapaxes(-1, -2)  # (B, H, T, end), q pre-scaled
            if t > 1:
                scores += self.mask[start:end, :end]
            scores -= np.maximum.reduce(scores, axis=-1, keepdims=True)
            probs = np.exp(scores, out=scores)
            probs /= np.add.reduce(probs, axis=-1, keepdims=True)
            att = (probs @ cache[:, i, 1, :, :end]).transpose(0, 2, 1, 3).reshape(b * t, h_ * w_)
            x += att @ blk.proj
            x += blk.proj_b
            hidden = normalize(x) @ blk.fc
            hidden += blk.fc_b
            x += gelu(hidden) @ blk.out
            x += blk.out_b
        return x.reshape(b, t, h_ * w_)

    def _logprobs(self, hidden: np.ndarray) -> np.ndarray:
        return log_softmax(normalize(hidden) @ self.out_kernel + self.out_bias)

    # -- the step interface ----------------------------------------------------------------
    def step(self, state: State, ids: np.ndarray) -> tuple[State, np.ndarray]:
        """Advance every row by one id; returns new state and (batch, vocab) log-probs.

        One attention pass over the cache, or a re-encoded window when the window was full.
        The given state is never modified (a prefix cache keeps old states).
        """
        ids = np.asarray(ids, dtype=np.intp).reshape(-1)
        tokens, lengths, cache = state
        if len(lengths) > 1 and np.any(lengths != lengths[0]):
            return by_length(self.step, state, ids)
        n = int(lengths[0])
        window, new_len, slid = slide(tokens, n, ids, self.block)
        if slid:
            cache = np.zeros_like(cache)
            hidden = self._encode(cache, window[:, :new_len], 0)[:, -1]
        else:
            cache = cache.copy()
            hidden = self._encode(cache, ids[:, None], n)[:, 0]
        return (window, np.full(len(ids), new_len, np.int32), cache), self._logprobs(hidden)

    def _read(self, ids: np.ndarray, state: State | None, every: bool) -> tuple[State, np.ndarray]:
        """Read ``ids`` with batch-1 state, window by window (as :meth:`step` would).

        Returns log-probs after each id (``every``) or after the last one only.
        """
        tokens, lengths, cache = (a.copy() for a in (state if state is not None else self.initial_state(1)))
        n = int(lengths[0])
        out = np.empty((len(ids) if every else 1, self.vocab_size), np.float32)
        i = 0
        while i < len(ids):
            if n == self.block:  # full: keep the tail, re-encode it with the next ids
                seg = ids[i : i + self.block - self.keep]
                window = np.concatenate([tokens[0, self.block - self.keep :], seg])
                cache[:] = 0
                tokens[:] = 0
                hidden = self._encode(cache, window[None], 0)[0, self.keep :]
                tokens[0, : len(window)] = window
                n = len(window)
            else:
                seg = ids[i : i + self.block - n]
                hidden = self._encode(cache, seg[None], n)[0]
                tokens[0, n : n + len(seg)] = seg
                n += len(seg)
            if every:
                out[i : i + len(seg)] = self._logprobs(hidden)
            elif i + len(seg) == len(ids):
                out[0] = self._logprobs(hidden[-1])
            i += len(seg)
        return (tokens, np.full(1, n, np.int32), cache), out

    def run(self, ids: Sequence[int] | np.ndarray, state: State | None = None) -> tuple[State, np.ndarray]:
        """Read a whole sequence (batch 1): log-probs after each id (T, vocab), final state.

        Exactly the windows repeated :meth:`step` calls hold; each window's new ids in
        one matrix pass; memory bounded by the block size and ``len(ids)``.
        """
        return self._read(np.asarray(ids, dtype=np.intp).reshape(-1), state, every=True)

    def start(self, prompt_ids: Sequence[int]) -> tuple[State, np.ndarray]:
        """Read a non-empty prompt; batch-1 state and the next-character log-probs (vocab,).

        Memory stays bounded by the block size whatever the prompt's length.
        """
        ids = np.asarray(prompt_ids, dtype=np.intp).reshape(-1)
        if len(ids) == 0:
            raise ValueError("start() needs at least one id")
        state, logprobs = self._read(ids, None, every=False)
        return state, logprobs[0]


TRANSFORMER = Transformer()
