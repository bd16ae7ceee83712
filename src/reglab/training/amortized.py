"""Amortized regression (seed 000): Keras encoders that read a whole dataset and output its coefficients.

An encoder maps one dataset — its rows (x_i, y_i), the ones column left out because it carries no
information — to a coefficient vector beta (slopes, then the intercept, as everywhere in reglab).
Training minimises the seed's loss, the mean over datasets and rows of (x_i' beta - y_i)^2, or a
supervised loss on each dataset's OLS beta.

Kinds (``EncoderSpec.kind``):

* ``lstm`` — the seed's architecture: stacked Bidirectional(LSTM) over the rows, Dense(leaky_relu)
  head. Reads the rows as a sequence, so it depends on their order.
* ``deepsets`` — a per-row network, mean pooling, a head: permutation-invariant by construction.
* ``set_transformer`` — self-attention blocks over the rows (Keras MultiHeadAttention, no positions),
  mean or attention pooling, a head: permutation-invariant.
* ``moments`` — per-dataset moments XᵀX/n (upper triangle) and Xᵀy/n, mapped to beta by a network.
  The moments are fixed features; the network must learn the map (XᵀX)⁻¹Xᵀy.
* ``unrolled`` — ``unroll_steps`` preconditioned gradient steps on the dataset's own least-squares loss
  from beta = 0, one learned d x d preconditioner per step. It hard-codes the gradient of the
  least-squares loss (the data enter only through XᵀX and Xᵀy) and the iteration; it learns
  d²·unroll_steps numbers.

``linear_in_y`` (moments, deepsets, set_transformer) makes beta linear in y, as least squares is:
beta = M(x-features) · h, with h pooled from y times learned row features of x. Only the map from
the design to M is learned — for ``moments`` that is the inverse of the Gram matrix.

``refine: K`` (``moments`` with ``normalize``) applies the trained network K more times to its own
residual, in float64 outside the network (:func:`reglab.linalg.batched.refine`): the head, read at the
residual's standardized moments scaled to unit norm minus its output at 0, is a learned inverse of the
standardized Gram, and the passes make it the preconditioner of an iteration whose fixed point is OLS.

``normalize`` standardizes x and y per dataset before the encoder and un-normalizes its output
exactly (slopes · sy/sx, intercept from the means), so the encoder is equivariant to shifts and
scales of x and to the scale of y; the loss is then measured in the standardized units.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from reglab.core.timing import phase
from reglab.data.amortized import Batch, Condition, sample
from reglab.linalg import batched
from reglab.training.session import tensorflow

ENCODER_KINDS = ("lstm", "deepsets", "set_transformer", "moments", "unrolled")
LOSSES = ("unsupervised", "supervised")
DATA_MODES = ("fixed", "fresh")
POOLINGS = ("mean", "attention")
#: attention scores held at once when an attention encoder predicts (float32: 4 bytes each)
ATTENTION_SCORES = 200_000_000


@dataclass(frozen=True)
class EncoderSpec:
    kind: str
    width: int = 32
    depth: int = 2
    head_width: int = 64
    head_depth: int = 2
    num_heads: int = 4
    pooling: str = "mean"
    unroll_steps: int = 3
    linear_in_y: bool = False
    normalize: bool = False
    activation: str = "gelu"
    refine: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ENCODER_KINDS:
            raise ValueError(f"encoder kind '{self.kind}': expected one of {list(ENCODER_KINDS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling '{self.pooling}': expected one of {list(POOLINGS)}")
        if self.linear_in_y and self.kind in ("lstm", "unrolled"):
            raise ValueError(f"linear_in_y applies to moments, deepsets and set_transformer, not {self.kind}")
        if self.refine < 0 or (self.refine and not (self.kind == "moments" and self.normalize)):
            raise ValueError(
                f"refine {self.refine}: passes >= 0, and only for kind 'moments' with normalize: true (the "
                "passes read the network as a map from standardized moments)"
            )


@dataclass(frozen=True)
class TrainSpec:
    data: str = "fixed"
    m: int = 1000
    epochs: int = 100
    steps: int = 2000
    batch_size: int = 200
    learning_rate: float = 1e-4
    lr_decay: bool = False
    loss: str = "unsupervised"
    loss_units: str = "raw"
    train_n: tuple[int, int] = (100, 100)
    validation_split: float = 0.1
    early_stopping_patience: int | None = 10
    condition: Condition = field(default_factory=Condition)

    def __post_init__(self) -> None:
        if self.data not in DATA_MODES:
            raise ValueError(f"data '{self.data}': expected one of {list(DATA_MODES)}")
        if self.loss_units not in ("raw", "normalized"):
            raise ValueError(f"loss_units '{self.loss_units}': expected raw or normalized")
        if self.loss not in LOSSES:
            raise ValueError(f"loss '{self.loss}': expected one of {list(LOSSES)}")
        lo, hi = self.train_n
        if not 1 <= lo <= hi:
            raise ValueError(f"train_n {self.train_n}: expected 1 <= low <= high")


@dataclass
class Trained:
    """A trained encoder: its Keras model, specs, training history and wall time."""

    model: Any
    encoder: EncoderSpec
    train: TrainSpec
    history: list[dict[str, float]]
    seconds: float
    steps_run: int
    params: int
    _predict: Any = None

    def coefficients(self, X: np.ndarray, y: np.ndarray, batch: int = 500) -> np.ndarray:
        """beta (m, d) in raw units for datasets ``X`` (m, n, d; ones last), ``y`` (m, n)."""
        tf, _ = tensorflow()
        if self._predict is None:  # one compiled graph (eager Keras LSTMs step through time in Python)
            model, normalize = self.model, self.encoder.normalize
            self._predict = tf.function(
                lambda xb, yb: _predict(model, normalize, xb, yb), reduce_retracing=True
            )
        if self.encoder.kind == "set_transformer":  # attention holds batch x heads x n² scores
            batch = max(1, min(batch, ATTENTION_SCORES // (X.shape[1] ** 2 * self.encoder.num_heads)))
        out = []
        for i in range(0, len(X), batch):
            xb = tf.constant(X[i : i + batch], tf.float32)
            yb = tf.constant(y[i : i + batch], tf.float32)
            out.append(self._predict(xb, yb).numpy())
        return np.concatenate(out).astype(np.float64)

    def inverse(self, G: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The network as a learned inverse of the standardized Gram (``moments`` kind, standardized
        units): its slopes for the moments ``(G, u)`` minus those for ``(G, 0)``, so 0 maps to 0. ``G``
        (m, k, k) as :func:`reglab.linalg.batched.standardized` gives it, ``u`` (m, k)."""
        tf, _ = tensorflow()
        m, k = u.shape
        gram = np.zeros((m, k + 1, k + 1))
        gram[:, :k, :k], gram[:, k, k] = G, 1.0  # the ones column: standardized features have mean 0
        i, j = np.triu_indices(k + 1)
        upper = tf.constant(gram[:, i, j], tf.float32)
        head = self.model.moments_head
        pad = np.zeros((m, 1))
        at_u = head(upper, tf.constant(np.concatenate([u, pad], 1), tf.float32)).numpy()
        at_0 = head(upper, tf.constant(np.zeros((m, k + 1)), tf.float32)).numpy()
        return (at_u[:, :k] - at_0[:, :k]).astype(np.float64)

    def refined(self, X: np.ndarray, y: np.ndarray) -> batched.Refinement:
        """The encoder's answer (pass 0) and ``refine`` passes of it on its own residual."""
        return batched.refine(X, y, self.coefficients(X, y), self.inverse, self.encoder.refine)

    def inverse_gram(self, X: np.ndarray, passes: int = 0) -> np.ndarray:
        """(m, k, k) the network's inverse of each dataset's standardized Gram (its output on the unit
        vectors), refined ``passes`` times on its own residual ``I − G·V``."""
        _, _, _, G = batched.standardized(X)
        return batched.refine_inverse(G, self.inverse, passes)


# --------------------------------------------------------------------------- building


def _mlp(keras, width: int, depth: int, out: int, activation: str, name: str):
    layers = [keras.layers.Dense(width, activation=activation, name=f"{name}_{i}") for i in range(depth)]
    layers.append(keras.layers.Dense(out, name=f"{name}_out"))
    return keras.Sequential(layers, name=name)


def _upper(tf, G, d: int):
    i, j = np.triu_indices(d)
    return tf.gather(tf.reshape(G, (-1, d * d)), i * d + j, axis=1)


def _model_class():
    """The encoder model class (defined on first use: importing this module does not import TensorFlow)."""
    global _ENCODER
    if _ENCODER is not None:
        return _ENCODER
    tf, keras = tensorflow()

    class Encoder(keras.Model):
        """Rows (B, n, d) = (x_1..x_{d-1}, y) -> beta (B, d): slopes, then the intercept."""

        def __init__(self, spec: EncoderSpec, d: int, **kwargs):
            super().__init__(name=f"{spec.kind}_encoder", **kwargs)
            self.spec, self.d = spec, d
            s, act = spec, spec.activation
            if s.kind == "lstm":
                self.lstms = [
                    keras.layers.Bidirectional(
                        keras.layers.LSTM(s.width, return_sequences=k < s.depth - 1), name=f"bilstm_{k}"
                    )
                    for k in range(s.depth)
                ]
                self.head = _mlp(keras, s.head_width, s.head_depth, d, "leaky_relu", "head")
            elif s.kind == "unrolled":
                eye = np.tile(0.5 * np.eye(d, dtype=np.float32), (s.unroll_steps, 1, 1))
                self.P = self.add_weight(
                    shape=(s.unroll_steps, d, d),
                    initializer=keras.initializers.Constant(eye),
                    name="preconditioners",
                )
            elif s.kind == "moments":
                self.head = _mlp(
                    keras, s.head_width, s.head_depth, d * d if s.linear_in_y else d, act, "head"
                )
            else:
                if s.kind == "deepsets":
                    self.phi = [
                        keras.layers.Dense(s.width, activation=act, name=f"phi_{k}") for k in range(s.depth)
                    ]
                else:
                    self.embed = keras.layers.Dense(s.width, name="embed")
                    self.blocks = [
                        (
                            keras.layers.MultiHeadAttention(
                                s.num_heads, max(s.width // s.num_heads, 1), name=f"mha_{k}"
                            ),
                            keras.layers.LayerNormalization(name=f"ln_a{k}"),
                            keras.Sequential(
                                [
                                    keras.layers.Dense(2 * s.width, activation=act),
                                    keras.layers.Dense(s.width),
                                ],
                                name=f"ffn_{k}",
                            ),
                            keras.layers.LayerNormalization(name=f"ln_f{k}"),
                        )
                        for k in range(s.depth)
                    ]
                    if s.pooling == "attention" and not s.linear_in_y:
                        self.query = self.add_weight(
                            shape=(1, 1, s.width), initializer="glorot_uniform", name="pool_seed"
                        )
                        self.pool_att = keras.layers.MultiHeadAttention(
                            s.num_heads, max(s.width // s.num_heads, 1), name="pool"
                        )
                if s.linear_in_y:
                    self.y_features = keras.layers.Dense(s.width, name="y_features")
                    self.head = _mlp(keras, s.head_width, s.head_depth, d * (s.width + 1), act, "head")
                else:
                    self.head = _mlp(keras, s.head_width, s.head_depth, d, act, "head")

        def moments_head(self, upper, xty):
            """``moments``: beta from the Gram's upper triangle and Xᵀy/n (standardized when normalized)."""
            if self.spec.linear_in_y:
                return tf.einsum("bij,bj->bi", tf.reshape(self.head(upper), (-1, self.d, self.d)), xty)
            return self.head(tf.concat([upper, xty], -1))

        def _rows(self, h):
            s = self.spec
            if s.kind == "deepsets":
                for layer in self.phi:
                    h = layer(h)
                return h
            h = self.embed(h)
            for att, ln_a, ffn, ln_f in self.blocks:
                h = ln_a(h + att(h, h))
                h = ln_f(h + ffn(h))
            return h

        def call(self, rows, training=False):
            s, d = self.spec, self.d
            x, y = rows[..., :-1], rows[..., -1]
            if s.kind == "lstm":
                h = rows
                for layer in self.lstms:
                    h = layer(h, training=training)
                return self.head(h)
            xa = tf.concat([x, tf.ones_like(y)[..., None]], axis=-1)  # the design, ones column last
            n = tf.cast(tf.shape(rows)[1], rows.dtype)
            if s.kind in ("unrolled", "moments"):
                gram = tf.einsum("bni,bnj->bij", xa, xa) / n
                xty = tf.einsum("bni,bn->bi", xa, y) / n
                if s.kind == "unrolled":
                    beta = tf.zeros_like(xty)
                    for k in range(s.unroll_steps):
                        grad = 2.0 * (tf.einsum("bij,bj->bi", gram, beta) - xty)
                        beta = beta - tf.einsum("ij,bj->bi", self.P[k], grad)
                    return beta
                return self.moments_head(_upper(tf, gram, d), xty)
            if s.linear_in_y:
                h = self._rows(x)
                g = tf.reduce_mean(h, axis=1)
                yh = tf.reduce_mean(self.y_features(h) * y[..., None], axis=1)
                yh = tf.concat([yh, tf.reduce_mean(y, axis=1, keepdims=True)], -1)
                M = tf.reshape(self.head(g), (-1, d, s.width + 1))
                return tf.einsum("bij,bj->bi", M, yh)
            h = self._rows(rows)
            if s.kind == "set_transformer" and s.pooling == "attention":
                q = tf.tile(self.query, (tf.shape(h)[0], 1, 1))
                pooled = self.pool_att(q, h)[:, 0, :]
            else:
                pooled = tf.reduce_mean(h, axis=1)
            return self.head(pooled)

    _ENCODER = Encoder
    return Encoder


_ENCODER = None


def build(spec: EncoderSpec, d: int, seed: int):
    """The encoder (a Keras model from rows (B, n, d) = (x_1..x_{d-1}, y) to beta (B, d)), built."""
    tf, keras = tensorflow()
    keras.utils.set_random_seed(seed)
    model = _model_class()(spec, d)
    model(tf.zeros((1, 4, d)))
    return model


# --------------------------------------------------------------------------- cost


def _dense(a: int, b: int) -> int:
    return 2 * a * b


def _mlp_flops(inp: int, width: int, depth: int, out: int) -> int:
    sizes = [inp] + [width] * depth + [out]
    return sum(_dense(a, b) for a, b in zip(sizes, sizes[1:], strict=False))


def flops(spec: EncoderSpec, d: int, n: int) -> int:
    """Floating-point operations of one forward pass on one dataset of ``n`` rows (``d`` coefficients),
    a multiply-add counted as 2, from the layer sizes: dense, recurrent and attention products, the
    moments' sums, the refinement's residuals and head calls. Activations, norms and biases are left out
    (a few per cent of the dense layers' count)."""
    s, k = spec, d - 1
    moments = 2 * n * (d * (d + 1) // 2 + d)  # the Gram's upper triangle and Xᵀy
    if s.kind == "lstm":
        total, inp = 0, d
        for _ in range(s.depth):
            total += 2 * n * 4 * _dense(inp + s.width, s.width)  # two directions, four gates per step
            inp = 2 * s.width
        return total + _mlp_flops(inp, s.head_width, s.head_depth, d)
    if s.kind == "unrolled":
        return moments + s.unroll_steps * 2 * _dense(d, d)
    if s.kind == "moments":
        tri = d * (d + 1) // 2
        head = (
            _mlp_flops(tri, s.head_width, s.head_depth, d * d) + _dense(d, d)
            if s.linear_in_y
            else _mlp_flops(tri + d, s.head_width, s.head_depth, d)
        )
        # each pass: the residual and its moments (2nd + 2nk), the head at the moments and at 0
        return moments + head + s.refine * (2 * n * d + 2 * n * k + 2 * head)
    inp = k if s.linear_in_y else d
    if s.kind == "deepsets":
        rows = n * _mlp_flops(inp, s.width, s.depth - 1, s.width)
    else:  # set_transformer: embedding, then per block four projections, scores and mixing, the FFN
        rows = n * _dense(inp, s.width)
        block = n * (
            4 * _dense(s.width, s.width) + _dense(s.width, 2 * s.width) + _dense(2 * s.width, s.width)
        )
        rows += s.depth * (block + 2 * 2 * n * n * s.width)
        if s.pooling == "attention" and not s.linear_in_y:
            rows += 2 * n * _dense(s.width, s.width) + 2 * _dense(s.width, s.width) + 2 * 2 * n * s.width
    if s.linear_in_y:
        rows += n * (_dense(s.width, s.width) + 2 * s.width)
        return (
            rows + _mlp_flops(s.width, s.head_width, s.head_depth, d * (s.width + 1)) + _dense(s.width + 1, d)
        )
    return rows + _mlp_flops(s.width, s.head_width, s.head_depth, d)


# --------------------------------------------------------------------------- forward and losses


def _normalize_tf(tf, X, y, eps=1e-6):
    x = X[..., :-1]
    mx = tf.reduce_mean(x, axis=1)
    sx = tf.maximum(tf.math.reduce_std(x, axis=1), eps)
    my = tf.reduce_mean(y, axis=1)
    sy = tf.maximum(tf.math.reduce_std(y, axis=1), eps)
    xs = (x - mx[:, None, :]) / sx[:, None, :]
    ys = (y - my[:, None]) / sy[:, None]
    return xs, ys, (mx, sx, my, sy)


def _unnormalize_tf(tf, beta_std, stats):
    mx, sx, my, sy = stats
    slopes = beta_std[:, :-1] * sy[:, None] / sx
    intercept = my + sy * beta_std[:, -1] - tf.reduce_sum(slopes * mx, axis=1)
    return tf.concat([slopes, intercept[:, None]], axis=1)


def _encode(model, normalize: bool, X, y, training: bool = False):
    """(beta in the encoder's units, the design and target in those units, stats or None)."""
    tf, _ = tensorflow()
    if normalize:
        xs, ys, stats = _normalize_tf(tf, X, y)
        Xu = tf.concat([xs, tf.ones_like(ys)[..., None]], axis=-1)
        return model(tf.concat([xs, ys[..., None]], -1), training=training), Xu, ys, stats
    return model(tf.concat([X[..., :-1], y[..., None]], -1), training=training), X, y, None


def _predict(model, normalize: bool, X, y):
    tf, _ = tensorflow()
    beta, _, _, stats = _encode(model, normalize, X, y)
    return _unnormalize_tf(tf, beta, stats) if normalize else beta


def _loss_fn(spec: TrainSpec, normalize: bool) -> Callable:
    tf, _ = tensorflow()

    def loss(model, X, y, beta_target, training):
        beta, Xu, yu, stats = _encode(model, normalize, X, y, training=training)
        if normalize and spec.loss_units == "raw":
            beta, Xu, yu = _unnormalize_tf(tf, beta, stats), X, y
        if spec.loss == "unsupervised":
            r = tf.einsum("bnd,bd->bn", Xu, beta) - yu
            return tf.reduce_mean(r * r)
        return tf.reduce_mean(tf.square(beta - beta_target))

    return loss


def _supervised_target(X: np.ndarray, y: np.ndarray, normalize: bool) -> np.ndarray:
    """OLS beta in the loss's units (standardized when ``normalize`` and the loss is in normalized units)."""
    if not normalize:
        return batched.ols(X, y)
    xs, ys, _ = batched.normalize(X, y)
    return batched.ols(np.concatenate([xs, np.ones_like(ys)[..., None]], -1), ys)


# --------------------------------------------------------------------------- training


def _draw_n(spec: TrainSpec, rng: np.random.Generator) -> int:
    lo, hi = spec.train_n
    if lo == hi:
        return lo
    # log-uniform over [lo, hi], rounded: small n are as present as large ones
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def train(
    encoder: EncoderSpec, spec: TrainSpec, *, seed: int, fixed: Batch | None = None, log_every: int = 50
) -> Trained:
    """Train an encoder with Adam on the seed's loss (or the supervised one).

    ``data='fixed'`` trains on ``fixed`` (or m datasets drawn from the condition) for ``epochs``
    epochs with Keras semantics: the last ``validation_split`` of the datasets validate, batches are
    reshuffled every epoch, and Keras' EarlyStopping on ``val_loss`` with ``early_stopping_patience``
    stops it. ``data='fresh'`` draws new datasets for each of ``steps`` steps (n drawn per step from
    ``train_n``); it validates on a fixed held-out draw every ``log_every`` steps.
    """
    tf, keras = tensorflow()
    rng = np.random.default_rng(seed)
    d = spec.condition.d
    model = build(encoder, d, seed)
    n_params = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    steps_total = spec.steps if spec.data == "fresh" else None
    lr: Any = spec.learning_rate
    if spec.lr_decay:
        total = (
            spec.steps
            if spec.data == "fresh"
            else spec.epochs * math.ceil(spec.m * (1 - spec.validation_split) / spec.batch_size)
        )
        lr = keras.optimizers.schedules.CosineDecay(spec.learning_rate, total, alpha=0.01)
    opt = keras.optimizers.Adam(lr)
    loss_of = _loss_fn(spec, encoder.normalize)

    @tf.function(reduce_retracing=True)
    def step(X, y, t):
        with tf.GradientTape() as tape:
            value = loss_of(model, X, y, t, True)
        grads = tape.gradient(value, model.trainable_weights)
        opt.apply_gradients(zip(grads, model.trainable_weights))
        return value

    @tf.function(reduce_retracing=True)
    def evaluate(X, y, t):
        return loss_of(model, X, y, t, False)

    def tensors(b: Batch):
        t = (
            _supervised_target(b.X, b.y, encoder.normalize and spec.loss_units == "normalized")
            if spec.loss == "supervised"
            else np.zeros(b.beta.shape)
        )
        return (tf.constant(b.X, tf.float32), tf.constant(b.y, tf.float32), tf.constant(t, tf.float32))

    history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    steps_run = 0
    with phase("train"):  # the Keras steps' own tracing on their first call included
        if spec.data == "fixed":
            data = fixed if fixed is not None else sample(spec.condition, spec.m, rng)
            m = len(data.X)
            n_val = int(round(m * spec.validation_split))
            tr = Batch(data.X[: m - n_val], data.y[: m - n_val], data.beta[: m - n_val], data.sd[: m - n_val])
            va = Batch(data.X[m - n_val :], data.y[m - n_val :], data.beta[m - n_val :], data.sd[m - n_val :])
            Xt, yt, tt = tensors(tr)
            val = tensors(va) if n_val else None
            stopper = _early_stopping(keras, spec, has_val=val is not None)
            for epoch in range(spec.epochs):
                perm = rng.permutation(len(tr.X))
                losses = []
                for i in range(0, len(perm), spec.batch_size):
                    idx = tf.constant(perm[i : i + spec.batch_size])
                    losses.append(float(step(tf.gather(Xt, idx), tf.gather(yt, idx), tf.gather(tt, idx))))
                    steps_run += 1
                logs = {
                    "epoch": epoch + 1,
                    "step": steps_run,
                    "loss": float(np.mean(losses)),
                    "seconds": time.perf_counter() - t0,
                }
                if val is not None:
                    logs["val_loss"] = float(evaluate(*val))
                history.append(logs)
                if stopper is not None:
                    stopper.on_epoch_end(epoch, logs)
                    if stopper.model.stop_training:
                        break
        else:
            held = sample(spec.condition, 500, np.random.default_rng([seed, 1]))
            val = tensors(held)
            losses = []
            for s in range(steps_total):
                b = sample(spec.condition.with_(n=_draw_n(spec, rng)), spec.batch_size, rng)
                losses.append(float(step(*tensors(b))))
                steps_run += 1
                if (s + 1) % log_every == 0 or s + 1 == steps_total:
                    history.append(
                        {
                            "epoch": None,
                            "step": s + 1,
                            "loss": float(np.mean(losses)),
                            "val_loss": float(evaluate(*val)),
                            "seconds": time.perf_counter() - t0,
                        }
                    )
                    losses = []
    seconds = time.perf_counter() - t0
    return Trained(model, encoder, spec, history, seconds, steps_run, n_params)


def _early_stopping(keras, spec: TrainSpec, *, has_val: bool):
    """Keras' own EarlyStopping callback, driven epoch by epoch (as model.fit drives it)."""
    if spec.early_stopping_patience is None:
        return None

    class _Holder:
        stop_training = False

    cb = keras.callbacks.EarlyStopping(
        monitor="val_loss" if has_val else "loss", patience=spec.early_stopping_patience
    )
    cb.set_model(_Holder())  # EarlyStopping only reads and sets model.stop_training (no weight restoring)
    cb.on_train_begin()
    return cb


def spec_dict(encoder: EncoderSpec, train: TrainSpec) -> dict[str, Any]:
    out = {"encoder": asdict(encoder), "train": asdict(train)}
    out["train"]["condition"] = train.condition.as_dict()
    return out


def from_config(entry: Mapping[str, Any]) -> tuple[EncoderSpec, TrainSpec]:
    """Specs from a config entry ``amortized.encoders.<name>`` (encoder keys and training keys together)."""
    enc_keys = set(EncoderSpec.__dataclass_fields__)
    train_keys = set(TrainSpec.__dataclass_fields__) - {"condition"}
    unknown = set(entry) - enc_keys - train_keys - {"condition"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    enc = EncoderSpec(**{k: v for k, v in entry.items() if k in enc_keys})
    tr = {k: v for k, v in entry.items() if k in train_keys}
    if "train_n" in tr:
        n = tr["train_n"]
        tr["train_n"] = (int(n), int(n)) if isinstance(n, int) else (int(n[0]), int(n[1]))
    cond = Condition(**entry.get("condition", {}))
    return enc, TrainSpec(**tr, condition=cond)
