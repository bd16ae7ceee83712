"""Fast, faithful Keras training of linear / logistic regressions and small MLPs.

The question this module serves is *how Keras behaves* when it fits a regression, so
everything that decides the numbers is Keras' own (Keras 3, TensorFlow backend): the
``keras.Sequential`` of ``keras.layers.Dense`` layers, ``keras.initializers``,
``keras.optimizers.{SGD,Adam,RMSprop,Adagrad}`` (updated through their own
``apply_gradients``), ``keras.losses.MeanSquaredError`` / ``BinaryCrossentropy``
(``sum_over_batch_size`` reduction, BCE's default epsilon clipping).  The epoch loss is
fit's loss tracker (``keras.metrics.Mean`` with ``sample_weight=batch_size``) replicated
op for op in loop-carried tensors (``total += loss * n_b; count += n_b; total / count``).

What is replaced is only the *driver*: ``model.fit`` runs one Python-level step per
batch plus callbacks, a fresh ``tf.data`` iterator and logs per epoch (about 0.05-0.2 s
per epoch on a 5-row problem).  :func:`train` instead traces one ``tf.function`` per
model/optimizer configuration that runs a whole chunk of epochs (a ``tf.while_loop``
over epochs around a ``tf.while_loop`` over batches) in a single call, and records the
per-epoch history in ``TensorArray``\\ s.  The step inside the loop is the body of Keras'
``TensorFlowTrainer.train_step``: ``model(x, training=True)`` under a ``GradientTape``,
the loss object, ``tape.gradient``, ``optimizer.apply_gradients``.

Measured before choosing (seed-001 problem, 1 thread, this 2-core machine under load):
``model.fit`` 55-80 ms/epoch; this loop 70-130 us/epoch (about 500-1000x; ~130x
end-to-end when the one-off tracing, ~0.3 s, is counted in a single 1000-epoch call);
calling ``model.train_step`` itself inside the loop is as exact but ~20% slower;
``jit_compile=True`` (XLA) 1-15 us/epoch but not bit-equal to ``fit``;
``optimizer.stateless_apply`` is not supported by the TensorFlow backend (raises).
``compile(jit_compile=True)`` or ``steps_per_execution=100`` leave ``fit`` at ~60 ms per
one-batch epoch (its cost is per epoch: iterator, callbacks, logs); with 200 batches per
epoch ``steps_per_execution=50`` halves fit's time, still ~10x slower than this loop.

Equality with ``model.fit`` (measured, see ``tests/test_keras_train.py``)
------------------------------------------------------------------------
* With ``shuffle=False`` (any batch size, last partial batch included) the final weights
  and the per-epoch ``train_loss`` / ``val_loss`` are **bit-identical** to ``model.fit``
  on the same machine for SGD (with/without momentum) and Adam, float32 and float64.
  Early stopping (``EarlyStopping(patience=k)``, ``restore_best_weights=False``) stops
  at the same epoch.  ``fit`` itself is run with ``jit_compile="auto"``, which Keras
  resolves to ``False`` on CPU-only machines and whenever op determinism is enabled (it
  is, here), so both paths execute the same TensorFlow kernels.
* With ``shuffle=True`` the *semantics* are fit's (a fresh permutation every epoch,
  batches taken in permutation order, last partial batch kept, the epoch loss is the
  batch-size-weighted mean of batch losses, a full batch is also row-permuted as fit
  does), but the permutations come from numpy (``np.random.default_rng``, seeded from
  the repeat seed) instead of fit's stateful ``tf.random.shuffle`` inside ``tf.data``.
  So shuffled runs cannot equal a given ``fit`` run: they are different draws of the
  same random process.  For a single full batch the order only changes float rounding
  of the sums (differences of order 1e-7 relative per step).
* ``jit_compile=True`` (opt-in keyword of :func:`train`) runs the same loop under XLA:
  much faster per step, but XLA fuses/reorders arithmetic, so results differ from
  (non-XLA) ``fit`` at the last-ulp level (~1e-7 relative after 50 Adam epochs on the
  seed-001 problem).  ``fit`` on a GPU machine without op determinism would also use
  XLA ("auto"), again not necessarily with identical rounding.

Where the trainer deliberately differs from ``fit``
--------------------------------------------------
* Divergence: ``fit`` keeps training on NaN/inf; here an epoch whose train loss,
  end-of-epoch loss, validation loss or any parameter is non-finite ends the run
  (``diverged=True``, ``diverged_epoch`` = that epoch, history kept up to it).
* ``batch_size=None`` means *full batch* (``fit`` would use 32).  The validation loss is
  evaluated like ``fit``'s ``evaluate`` (batches of the training batch size, weighted
  ``Mean``), so it matches ``fit``'s ``val_loss`` bit for bit.
* ``loss_end`` (loss of the whole training set after the epoch's last update) is an
  extra forward pass that ``fit`` does not log.
* ``seconds`` in the history is measured per compiled chunk (up to 256 epochs) and
  linearly interpolated over the epochs inside a chunk; it excludes graph tracing / XLA
  compilation, which are paid once per configuration and process.  ``FitResult.seconds``
  is the whole wall time of the repeat (setup, tracing if it happened, training).
* Initial weights: the initializer (``spec.initializer``) is applied to every Dense
  *kernel* with an explicit integer seed derived from the repeat seed; biases use Keras'
  default (zeros).  This is exactly seed 001's ``Dense(1, kernel_initializer=
  RandomNormal(0, 0.05))`` with a reproducible seed.
* Reuse: models/optimizers/traced functions are cached per configuration (everything
  except learning rate and seed); a reused model gets its initial weights assigned and
  the optimizer's variables reset to their just-built values, which is bit-identical to
  a fresh build (tested).  Optimizers with ``use_ema`` are never reused.
* ``keras.config.floatx`` is set process-wide while a float64 model is built, traced and
  run, and restored afterwards: do not train from several threads at once.
* Process-wide side effects of the first :func:`train` call:
  ``tf.config.experimental.enable_op_determinism()`` (same inputs -> bit-identical
  weights; unseeded TF random ops then raise, which is why :func:`train_with_model_fit`
  calls ``tf.random.set_seed``), the thread counts of :func:`configure_threads`, and ``gc.freeze``
  at exit (:func:`reglab.core.logs.freeze_heap_at_exit`: the process ends ~1 s sooner).
  One thread is the fastest setting for these tiny graphs.
* ``dist_<ref>`` is computed in float64 from the recorded per-epoch parameters.
"""

from __future__ import annotations

import collections
import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from reglab.core.timing import phase as _phase
from reglab.training.session import configure_threads  # noqa: F401  (part of this module's API)
from reglab.training.session import tensorflow as _tf

__all__ = [
    "FitSpec",
    "FitResult",
    "train",
    "train_with_model_fit",
    "configure_threads",
    "initial_parameters",
    "repeat_seed",
    "clear_cache",
    "MODELS",
    "OPTIMIZERS",
    "INITIALIZERS",
]

MODELS = ("linear", "logistic", "mlp_regression", "mlp_classification")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
INITIALIZERS = ("random_normal", "zeros", "glorot_uniform")
DTYPES = ("float32", "float64")
MAX_PARAMS_IN_HISTORY = 20
_CHUNK_EPOCHS = 1024  # epochs per compiled call (upper bound): seed 001's 1,000-epoch repeats in one call
# each (each call costs ~2 ms of tf.function dispatch: 0.6 s per 100-repeat run at 256); the split into
# calls changes no number (tests/test_keras_train.py)
_CHUNK_PERM_ELEMENTS = 1 << 22  # bound on the int32 permutation block sent per call
_ENGINE_CACHE_SIZE = 16


# ----------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class FitSpec:
    """One Keras training configuration (see the module docstring for the semantics)."""

    model: str
    epochs: int
    learning_rate: float
    optimizer: str = "adam"
    optimizer_options: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int | None = None
    shuffle: bool = True
    use_bias: bool = True
    initializer: str = "random_normal"
    hidden: tuple[int, ...] = (32, 32)
    activation: str = "relu"
    dtype: str = "float32"
    validation_split: float = 0.0
    early_stopping_patience: int | None = None
    repeats: int = 1

    @property
    def is_mlp(self) -> bool:
        return self.model.startswith("mlp")

    @property
    def is_classifier(self) -> bool:
        return self.model in ("logistic", "mlp_classification")


@dataclass
class FitResult:
    """Outcome of one repeat.

    ``history`` has one row per epoch run: ``epoch`` (1-based), ``train_loss`` (fit's
    epoch loss: batch-size-weighted mean of the batch losses, each taken before that
    batch's update), ``loss_end`` (loss on the whole training set after the epoch),
    ``val_loss`` (NaN without validation), ``seconds`` (cumulative, interpolated within
    compiled chunks), ``w_<param>`` when the model has <= 20 parameters and
    ``dist_<ref>`` per reference vector.  ``final_train_loss`` is the last ``loss_end``
    (the loss of the returned weights); ``final_val_loss`` the last ``val_loss``.
    ``intercept`` is None for MLPs and when ``use_bias=False``.
    """

    repeat: int
    seed: int
    history: pd.DataFrame
    coef: np.ndarray | None
    intercept: float | None
    final_train_loss: float
    final_val_loss: float | None
    epochs_run: int
    diverged: bool
    diverged_epoch: int | None
    seconds: float
    weights: list[np.ndarray] = field(default_factory=list, repr=False)
    """All final trainable variables (Keras order: per layer kernel, bias), model dtype."""
    optimizer_steps: int = 0
    """``optimizer.iterations`` at the end: the number of updates applied."""


def repeat_seed(seed: int, repeat: int) -> int:
    """The seed of repeat ``repeat``: drives the initializers and the shuffle."""
    return int(np.random.SeedSequence([int(seed), int(repeat)]).generate_state(1)[0])


def _kernel_seeds(rseed: int, n_layers: int) -> list[int]:
    return [int(s) for s in np.random.SeedSequence([rseed, 1]).generate_state(n_layers)]


def _shuffle_rng(rseed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([rseed, 2]))


# ------------------------------------------------------------------------ TF set-up


@contextlib.contextmanager
def _floatx(dtype: str):
    """Scope ``keras.config.floatx`` (layer/optimizer/loss/metric default dtype)."""
    _, keras = _tf()
    old = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(old)


# ------------------------------------------------------------------------ validation


def _check_spec(spec: FitSpec) -> None:
    if not isinstance(spec, FitSpec):
        raise ValueError(f"spec must be a FitSpec, got {type(spec).__name__}")
    if spec.model not in MODELS:
        raise ValueError(f"unknown model {spec.model!r}; expected one of {MODELS}")
    if spec.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {spec.optimizer!r}; expected one of {OPTIMIZERS}")
    if spec.initializer not in INITIALIZERS:
        raise ValueError(f"unknown initializer {spec.initializer!r}; expected one of {INITIALIZERS}")
    if spec.dtype not in DTYPES:
        raise ValueError(f"unknown dtype {spec.dtype!r}; expected one of {DTYPES}")
    if isinstance(spec.epochs, bool) or not isinstance(spec.epochs, (int, np.integer)) or spec.epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {spec.epochs!r}")
    lr = spec.learning_rate
    if (
        isinstance(lr, bool)
        or not isinstance(lr, (int, float, np.floating, np.integer))
        or not math.isfinite(float(lr))
        or float(lr) <= 0
    ):
        raise ValueError(f"learning_rate must be a finite number > 0, got {lr!r}")
    if spec.batch_size is not None and (
        isinstance(spec.batch_size, bool)
        or not isinstance(spec.batch_size, (int, np.integer))
        or spec.batch_size < 1
    ):
        raise ValueError(f"batch_size must be an integer >= 1 or None, got {spec.batch_size!r}")
    if not isinstance(spec.repeats, (int, np.integer)) or spec.repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {spec.repeats!r}")
    if not (0.0 <= float(spec.validation_split) < 1.0):
        raise ValueError(f"validation_split must be in [0, 1), got {spec.validation_split!r}")
    p = spec.early_stopping_patience
    if p is not None and (isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0):
        raise ValueError(f"early_stopping_patience must be an integer >= 0 or None, got {p!r}")
    if not isinstance(spec.optimizer_options, Mapping):
        raise ValueError("optimizer_options must be a mapping of Keras optimizer arguments")
    if "learning_rate" in spec.optimizer_options:
        raise ValueError("give the learning rate as FitSpec.learning_rate, not in optimizer_options")
    if spec.is_mlp:
        if len(spec.hidden) == 0 or any(
            isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in spec.hidden
        ):
            raise ValueError(f"hidden must be a non-empty tuple of positive ints, got {spec.hidden!r}")


def _as_design(X, y, dtype: str, spec: FitSpec, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{what}X must be 2-D (n_rows, n_features), got shape {X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{what}y must be 1-D (n_rows,) or (n_rows, 1), got shape {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"shape mismatch: {what}X has {X.shape[0]} rows but {what}y has {y.shape[0]}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{what}X must have at least one row and one column, got {X.shape}")
    try:
        X = X.astype(dtype)
        y = y.astype(dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}X/{what}y must be numeric: {e}") from None
    if not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)):
        raise ValueError(f"{what}X and {what}y must be finite (found NaN or inf)")
    if spec.is_classifier:
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            raise ValueError(
                f"{spec.model} needs a binary {what}y in {{0, 1}}; found values "
                f"{np.unique(y[bad])[:5].tolist()}"
            )
    return np.ascontiguousarray(X), np.ascontiguousarray(y.reshape(-1, 1))


def _prepare(spec, X, y, feature_names, X_val, y_val):
    _check_spec(spec)
    X, y = _as_design(X, y, spec.dtype, spec, "")
    p = X.shape[1]
    feature_names = list(feature_names)
    if len(feature_names) != p:
        raise ValueError(f"feature_names has {len(feature_names)} names but X has {p} columns")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        if spec.validation_split:
            raise ValueError("give either explicit X_val/y_val or spec.validation_split > 0, not both")
        X_val, y_val = _as_design(X_val, y_val, spec.dtype, spec, "validation ")
        if X_val.shape[1] != p:
            raise ValueError(f"X_val has {X_val.shape[1]} columns but X has {p}")
    elif spec.validation_split:
        # keras.src.trainers.data_adapters.array_slicing.train_validation_split
        n = X.shape[0]
        split_at = int(math.floor(n * (1.0 - spec.validation_split)))
        if split_at == 0 or split_at == n:
            raise ValueError(
                f"{n} rows are not enough for validation_split={spec.validation_split} "
                "(Keras would refuse too)"
            )
        X, X_val = X[:split_at], X[split_at:]
        y, y_val = y[:split_at], y[split_at:]
    return X, y, X_val, y_val, feature_names


# ------------------------------------------------------------------- Keras objects


def _n_dense(spec: FitSpec) -> int:
    return len(spec.hidden) + 1 if spec.is_mlp else 1


def _make_initializer(name: str, seed: int):
    _, keras = _tf()
    if name == "random_normal":
        return keras.initializers.RandomNormal(mean=0.0, stddev=0.05, seed=seed)
    if name == "glorot_uniform":
        return keras.initializers.GlorotUniform(seed=seed)
    if name == "zeros":
        return keras.initializers.Zeros()
    raise ValueError(f"unknown initializer {name!r}; expected one of {INITIALIZERS}")


def _build_model(spec: FitSpec, p: int, kernel_seeds: Sequence[int]):
    """The Keras model: Sequential of Dense layers (call inside ``_floatx``)."""
    _, keras = _tf()
    layers = [keras.Input(shape=(p,), dtype=spec.dtype)]
    units = list(spec.hidden) if spec.is_mlp else []
    if spec.is_mlp:
        try:
            keras.activations.get(spec.activation)
        except (ValueError, TypeError):
            raise ValueError(f"unknown activation {spec.activation!r} (not a Keras activation)") from None
    for i, h in enumerate(units):
        layers.append(
            keras.layers.Dense(
                h,
                activation=spec.activation,
                use_bias=spec.use_bias,
                dtype=spec.dtype,
                kernel_initializer=_make_initializer(spec.initializer, kernel_seeds[i]),
            )
        )
    out_act = "sigmoid" if spec.is_classifier else None
    layers.append(
        keras.layers.Dense(
            1,
            activation=out_act,
            use_bias=spec.use_bias,
            dtype=spec.dtype,
            kernel_initializer=_make_initializer(spec.initializer, kernel_seeds[len(units)]),
        )
    )
    return keras.Sequential(layers)


def _make_optimizer(spec: FitSpec):
    _, keras = _tf()
    cls = {
        "sgd": keras.optimizers.SGD,
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "adagrad": keras.optimizers.Adagrad,
    }[spec.optimizer]
    try:
        return cls(learning_rate=float(spec.learning_rate), **dict(spec.optimizer_options))
    except (TypeError, ValueError) as e:
        raise ValueError(f"bad optimizer_options for {spec.optimizer}: {e}") from None


def _make_loss(spec: FitSpec):
    _, keras = _tf()
    if spec.is_classifier:
        return keras.losses.BinaryCrossentropy()
    return keras.losses.MeanSquaredError()


def _initial_weights(spec: FitSpec, p: int, rseed: int) -> list[np.ndarray]:
    """Initial trainable variables (Keras order) exactly as the Dense layers draw them."""
    dims = [p] + (list(spec.hidden) if spec.is_mlp else []) + [1]
    seeds = _kernel_seeds(rseed, _n_dense(spec))
    out = []
    with _floatx(spec.dtype):
        for i in range(len(dims) - 1):
            init = _make_initializer(spec.initializer, seeds[i])
            out.append(np.asarray(init((dims[i], dims[i + 1]), dtype=spec.dtype)))
            if spec.use_bias:
                out.append(np.zeros((dims[i + 1],), dtype=spec.dtype))
    return out


def initial_parameters(spec: FitSpec, n_features: int, *, seed: int, repeat: int = 0) -> np.ndarray:
    """The starting parameter vector (kernel, then bias if any) of a linear/logistic model's repeat.

    Exactly what :func:`train` starts from for ``train(spec, ..., seed=seed)``'s repeat ``repeat``;
    theory (e.g. the implicit-bias limit of gradient descent) needs it.
    """
    if spec.is_mlp:
        raise ValueError("initial_parameters is for linear/logistic models (one Dense layer)")
    _tf()
    weights = _initial_weights(spec, n_features, repeat_seed(seed, repeat))
    return np.concatenate([np.asarray(w, dtype=np.float64).reshape(-1) for w in weights])


def _param_names(spec: FitSpec, feature_names: Sequence[str], shapes) -> list[str]:
    if not spec.is_mlp:
        return list(feature_names) + (["intercept"] if spec.use_bias else [])
    names = []
    per_layer = 2 if spec.use_bias else 1
    for k, shape in enumerate(shapes):
        layer, kind = divmod(k, per_layer)
        if kind == 0:
            names += [f"l{layer}_kernel_{a}_{b}" for a in range(shape[0]) for b in range(shape[1])]
        else:
            names += [f"l{layer}_bias_{b}" for b in range(shape[0])]
    return names


# ------------------------------------------------------------------------ the engine


class _Engine:
    """A Keras model + optimizer + loss + metrics, and the compiled multi-epoch loop."""

    def __init__(
        self,
        spec: FitSpec,
        p: int,
        has_val: bool,
        record_params: bool,
        jit_compile: bool,
        init_weights: list[np.ndarray],
    ):
        tf, keras = _tf()
        self.dtype = spec.dtype
        self.has_val = has_val
        self.record_params = record_params
        self.jit_compile = jit_compile
        with _floatx(spec.dtype):
            self.model = _build_model(spec, p, _kernel_seeds(0, _n_dense(spec)))
            self.tvars = list(self.model.trainable_variables)
            for v, w in zip(self.tvars, init_weights):
                v.assign(w)
            self.optimizer = _make_optimizer(spec)
            self.optimizer.build(self.tvars)
            self.loss = _make_loss(spec)
        self.opt_init = [np.array(v.numpy()) for v in self.optimizer.variables]
        self.n_params = int(sum(int(np.prod(v.shape)) for v in self.tvars))
        self.shapes = [tuple(v.shape) for v in self.tvars]
        self._fn = tf.function(self._chunk, jit_compile=jit_compile, autograph=False)
        self._traced: set[tuple] = set()

    def reset(self, init_weights: list[np.ndarray], learning_rate: float) -> None:
        for v, w in zip(self.tvars, init_weights):
            v.assign(w)
        for v, w in zip(self.optimizer.variables, self.opt_init):
            v.assign(w)
        self.optimizer.learning_rate = float(learning_rate)

    # The pieces of the compiled loop, traced inside :meth:`_chunk`.

    @staticmethod
    def _mean_update(total, count, loss, size):
        # keras.metrics.Mean.update_state(loss, sample_weight=batch_size), as fit's
        # loss tracker does it (same float ops), kept in loop-carried tensors.
        tf, _ = _tf()
        w = tf.cast(size, total.dtype)
        return total + loss * w, count + w

    def _train_batch(self, xb, yb, total, count):
        """The body of keras' TensorFlowTrainer.train_step; returns the updated loss Mean."""
        tf, _ = _tf()
        with tf.GradientTape() as tape:
            y_pred = self.model(xb, training=True)
            loss = self.loss(yb, y_pred)
        grads = tape.gradient(loss, self.tvars)
        self.optimizer.apply_gradients(zip(grads, self.tvars))
        return self._mean_update(total, count, loss, tf.shape(xb)[0])

    def _train_epoch(self, X, y, perm, *, n, bs, shuffle):
        """One epoch of fit's batches (the last partial batch kept); returns the epoch's mean training
        loss."""
        tf, _ = _tf()
        p = X.shape[1]
        n_full, rem = divmod(n, bs)

        def batch(start, size):
            if shuffle:
                idx = tf.slice(perm, [start], [size])
                return tf.gather(X, idx), tf.gather(y, idx)
            return tf.slice(X, [start, 0], [size, p]), tf.slice(y, [start, 0], [size, 1])

        total = count = tf.constant(0, X.dtype)
        if n_full == 1:  # one full batch: no inner loop (saves its overhead)
            total, count = self._train_batch(*batch(0, bs), total, count)
        elif n_full:

            def bbody(b, total, count):
                return (b + 1, *self._train_batch(*batch(b * bs, bs), total, count))

            _, total, count = tf.while_loop(lambda b, *_: b < n_full, bbody, (tf.constant(0), total, count))
        if rem:  # fit keeps the last partial batch
            total, count = self._train_batch(*batch(n_full * bs, rem), total, count)
        return tf.math.divide_no_nan(total, count)

    def _val_loss(self, Xv, yv, *, n_val, val_bs, dtype):
        """keras evaluate(): batches of val_bs in order, Mean weighted by batch size."""
        tf, _ = _tf()
        p = Xv.shape[1]
        nv_full, v_rem = divmod(n_val, val_bs)

        def vstep(start, size, total, count):
            xb = tf.slice(Xv, [start, 0], [size, p])
            yb = tf.slice(yv, [start, 0], [size, 1])
            loss = self.loss(yb, self.model(xb, training=False))
            return self._mean_update(total, count, loss, size)

        total = count = tf.constant(0, dtype)
        if nv_full == 1:
            total, count = vstep(0, val_bs, total, count)
        elif nv_full:

            def vbody(b, total, count):
                return (b + 1, *vstep(b * val_bs, val_bs, total, count))

            _, total, count = tf.while_loop(lambda b, *_: b < nv_full, vbody, (tf.constant(0), total, count))
        if v_rem:
            total, count = vstep(nv_full * val_bs, v_rem, total, count)
        return tf.math.divide_no_nan(total, count)

    @staticmethod
    def _early_stopping(current, best, wait, started, epoch, patience):
        """keras.callbacks.EarlyStopping(patience, min_delta=0, mode="min", baseline=None,
        start_from_epoch=0, restore_best_weights=False): returns (stop, best, wait, started)."""
        tf, _ = _tf()
        wait = wait + 1
        improved = tf.logical_or(tf.logical_not(started), current < best)
        best = tf.where(improved, current, best)
        wait = tf.where(improved, tf.zeros_like(wait), wait)
        started = tf.constant(True)
        es_stop = tf.logical_and(tf.logical_not(improved), wait >= patience)
        return tf.logical_and(es_stop, epoch > 0), best, wait, started

    # The compiled loop.  Python-valued keyword arguments (n, bs, ...) are static:
    # tf.function traces once per distinct combination (and per engine).
    def _chunk(
        self,
        X,
        y,
        Xv,
        yv,
        perms,
        n_epochs,
        epoch0,
        patience,
        es_best,
        es_wait,
        es_started,
        *,
        n,
        bs,
        n_val,
        val_bs,
        cap,
        shuffle,
        early_stopping,
    ):
        tf, _ = _tf()
        dt = X.dtype
        ta_train = tf.TensorArray(dt, size=cap, element_shape=())
        ta_end = tf.TensorArray(dt, size=cap, element_shape=())
        ta_val = tf.TensorArray(dt, size=cap, element_shape=())
        ta_par = tf.TensorArray(dt, size=cap, element_shape=(self.n_params,))

        def cond(e, stop, *_):
            return tf.logical_and(e < n_epochs, tf.equal(stop, 0))

        def epoch_body(e, stop, best, wait, started, ta_train, ta_end, ta_val, ta_par):
            train_loss = self._train_epoch(X, y, perms[e] if shuffle else None, n=n, bs=bs, shuffle=shuffle)
            loss_end = self.loss(y, self.model(X, training=False))
            params = tf.concat([tf.reshape(tf.convert_to_tensor(v), [-1]) for v in self.tvars], 0)
            finite = tf.logical_and(tf.math.is_finite(train_loss), tf.math.is_finite(loss_end))
            finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(params)))
            if self.has_val:
                val_loss = self._val_loss(Xv, yv, n_val=n_val, val_bs=val_bs, dtype=dt)
                finite = tf.logical_and(finite, tf.math.is_finite(val_loss))
                current = val_loss
            else:
                val_loss = tf.constant(float("nan"), dt)
                current = train_loss
            stop = tf.where(finite, 0, 1)
            if early_stopping:
                es_stop, best, wait, started = self._early_stopping(
                    current, best, wait, started, epoch0 + e, patience
                )
                stop = tf.where(tf.logical_and(finite, es_stop), 2, stop)
            ta_train = ta_train.write(e, train_loss)
            ta_end = ta_end.write(e, loss_end)
            ta_val = ta_val.write(e, val_loss)
            if self.record_params:
                ta_par = ta_par.write(e, params)
            return (e + 1, stop, best, wait, started, ta_train, ta_end, ta_val, ta_par)

        loop_vars = (
            tf.constant(0),
            tf.constant(0),
            es_best,
            es_wait,
            es_started,
            ta_train,
            ta_end,
            ta_val,
            ta_par,
        )
        e, stop, best, wait, started, ta_train, ta_end, ta_val, ta_par = tf.while_loop(
            cond, epoch_body, loop_vars, maximum_iterations=cap
        )
        params = ta_par.stack() if self.record_params else tf.zeros([0, self.n_params], dt)
        return (e, stop, best, wait, started, ta_train.stack(), ta_end.stack(), ta_val.stack(), params)

    def _trace(self, Xt, yt, Xvt, yvt, dummy_perms, pat, best, wait, started, static):
        """Trace (and XLA-compile) outside the timed region, once per engine and signature: a zero-epoch
        call (it changes no variable, so a repeat that skips it trains exactly as one that ran it)."""
        tf, _ = _tf()
        with _floatx(self.dtype), _phase("trace"):
            self._fn(
                Xt,
                yt,
                Xvt,
                yvt,
                dummy_perms,
                tf.constant(0),
                tf.constant(0),
                pat,
                best,
                wait,
                started,
                **static,
            )

    def run(self, X, y, Xv, yv, *, epochs, bs, val_bs, shuffle, patience, rng):
        """Train ``epochs`` epochs from the current state; returns per-epoch arrays."""
        tf, _ = _tf()
        n, p = X.shape
        n_val = 0 if Xv is None else Xv.shape[0]
        # Epochs per call: fixed per (n, shuffle), not per run length, so one trace
        # serves every epoch count.
        cap = _CHUNK_EPOCHS
        if shuffle:
            cap = max(1, min(cap, _CHUNK_PERM_ELEMENTS // n))
        Xt, yt = tf.constant(X), tf.constant(y)
        if Xv is None:
            Xvt, yvt = tf.zeros([0, p], X.dtype), tf.zeros([0, 1], X.dtype)
        else:
            Xvt, yvt = tf.constant(Xv), tf.constant(yv)
        static = dict(
            n=n,
            bs=bs,
            n_val=n_val,
            val_bs=val_bs,
            cap=cap,
            shuffle=shuffle,
            early_stopping=patience is not None,
        )
        dummy_perms = tf.zeros([cap, n] if shuffle else [0], tf.int32)
        pat = tf.constant(-1 if patience is None else int(patience), tf.int32)
        best = tf.constant(np.inf, X.dtype)
        wait = tf.constant(0, tf.int32)
        started = tf.constant(False)
        signature = (X.shape, X.dtype.str, tuple(sorted(static.items())))
        if signature not in self._traced:
            self._traced.add(signature)
            self._trace(Xt, yt, Xvt, yvt, dummy_perms, pat, best, wait, started, static)
        with _floatx(self.dtype), _phase("train"):
            parts = {k: [] for k in ("train", "end", "val", "par", "sec")}
            done, stop, elapsed = 0, 0, 0.0
            while done < epochs and stop == 0:
                k = min(cap, epochs - done)
                t0 = time.perf_counter()
                if shuffle:
                    perms = np.zeros((cap, n), np.int32)
                    for i in range(k):
                        perms[i] = rng.permutation(n)
                    perms = tf.constant(perms)
                else:
                    perms = dummy_perms
                out = self._fn(
                    Xt,
                    yt,
                    Xvt,
                    yvt,
                    perms,
                    tf.constant(k),
                    tf.constant(done),
                    pat,
                    best,
                    wait,
                    started,
                    **static,
                )
                e, stop_t, best, wait, started, tr, en, va, par = out
                ran, stop = int(e), int(stop_t)
                tr, en, va, par = tr.numpy(), en.numpy(), va.numpy(), par.numpy()
                dt = time.perf_counter() - t0
                parts["train"].append(tr[:ran])
                parts["end"].append(en[:ran])
                parts["val"].append(va[:ran])
                if self.record_params:
                    parts["par"].append(par[:ran])
                parts["sec"].append(elapsed + dt * np.arange(1, ran + 1) / max(ran, 1))
                elapsed += dt
                done += ran
        cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0)  # noqa: E731
        par = np.concatenate(parts["par"]) if self.record_params else np.zeros((done, 0))
        return dict(
            train=cat(parts["train"]),
            end=cat(parts["end"]),
            val=cat(parts["val"]),
            par=par,
            sec=cat(parts["sec"]),
            epochs_run=done,
            stop=stop,
        )


_ENGINES: "collections.OrderedDict[tuple, _Engine]" = collections.OrderedDict()


def _engine_key(spec: FitSpec, p: int, has_val: bool, record_params: bool, jit: bool):
    opts = tuple(sorted((k, repr(v)) for k, v in dict(spec.optimizer_options).items()))
    return (
        spec.model,
        spec.optimizer,
        opts,
        spec.use_bias,
        tuple(spec.hidden) if spec.is_mlp else (),
        spec.activation if spec.is_mlp else "",
        spec.dtype,
        p,
        has_val,
        record_params,
        bool(jit),
    )


def _get_engine(spec, p, has_val, record_params, jit, init_weights) -> _Engine:
    reusable = not dict(spec.optimizer_options).get("use_ema", False)
    key = _engine_key(spec, p, has_val, record_params, jit)
    eng = _ENGINES.get(key) if reusable else None
    if eng is None:
        eng = _Engine(spec, p, has_val, record_params, jit, init_weights)
        if reusable:
            _ENGINES[key] = eng
            while len(_ENGINES) > _ENGINE_CACHE_SIZE:
                _ENGINES.popitem(last=False)
    else:
        _ENGINES.move_to_end(key)
    eng.reset(init_weights, spec.learning_rate)
    return eng


def clear_cache() -> None:
    """Forget cached models/optimizers/traced loops (the next train() rebuilds)."""
    _ENGINES.clear()


# --------------------------------------------------------------------------- results


def _history_frame(res, references, param_names):
    n = res["epochs_run"]
    hist = {
        "epoch": np.arange(1, n + 1),
        "train_loss": res["train"].astype(np.float64),
        "loss_end": res["end"].astype(np.float64),
        "val_loss": res["val"].astype(np.float64),
        "seconds": res["sec"].astype(np.float64),
    }
    par = res["par"]
    if par.shape[1] and len(param_names) <= MAX_PARAMS_IN_HISTORY:
        for j, name in enumerate(param_names):
            hist[f"w_{name}"] = par[:, j].astype(np.float64)
    for name, ref in (references or {}).items():
        hist[f"dist_{name}"] = np.sqrt(((par.astype(np.float64) - ref[None, :]) ** 2).sum(axis=1))
    return pd.DataFrame(hist)


def _check_references(spec, references, n_params):
    out = {}
    if not references:
        return out
    if spec.is_mlp:
        raise ValueError("references are only supported for linear/logistic models")
    for name, ref in references.items():
        ref = np.asarray(ref, dtype=np.float64).reshape(-1)
        if ref.shape[0] != n_params:
            raise ValueError(
                f"reference {name!r} has {ref.shape[0]} values but the model has {n_params} "
                f"parameters (w_1..w_p{', intercept' if spec.use_bias else ''})"
            )
        out[str(name)] = ref
    return out


def _result(spec, repeat, rseed, res, weights, feature_names, references, seconds, steps):
    shapes = [w.shape for w in weights]
    names = _param_names(spec, feature_names, shapes)
    hist = _history_frame(res, references, names)
    diverged = res["stop"] == 1
    coef = intercept = None
    if not spec.is_mlp:
        coef = weights[0].reshape(-1).copy()
        intercept = float(weights[1][0]) if spec.use_bias else None
    n = res["epochs_run"]
    fv = float(res["val"][-1]) if n else float("nan")
    return FitResult(
        repeat=repeat,
        seed=rseed,
        history=hist,
        coef=coef,
        intercept=intercept,
        final_train_loss=float(res["end"][-1]) if n else float("nan"),
        final_val_loss=fv if res["has_val"] else None,
        epochs_run=n,
        diverged=bool(diverged),
        diverged_epoch=n if diverged else None,
        seconds=float(seconds),
        weights=weights,
        optimizer_steps=int(steps),
    )


# ------------------------------------------------------------------------- public API


def train(
    spec: FitSpec,
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    feature_names: Sequence[str],
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    references: Mapping[str, np.ndarray] | None = None,
    threads: int | None = None,
    jit_compile: bool = False,
) -> list[FitResult]:
    """Train ``spec.repeats`` independent Keras models; one :class:`FitResult` each.

    ``X`` is (n, p), ``y`` is (n,) (or (n, 1)); ``X_val``/``y_val`` an explicit validation
    set (exclusive with ``spec.validation_split``, which takes the last rows like Keras).
    Repeat ``r`` uses seed :func:`repeat_seed(seed, r) <repeat_seed>` for its kernel
    initializers and its shuffle.  ``references`` maps a name to a parameter vector
    (w_1..w_p, intercept if ``use_bias``) for linear/logistic models; the history gets
    its Euclidean distance per epoch.  ``threads`` sets TensorFlow's thread pools (only
    effective before TensorFlow initialises).  ``jit_compile=True`` runs the loop under
    XLA (faster, no longer bit-equal to non-XLA ``fit``).  Divergence (NaN/inf) ends a
    repeat with ``diverged=True``; it does not raise.
    """
    configure_threads(threads)
    X, y, X_val, y_val, feature_names = _prepare(spec, X, y, feature_names, X_val, y_val)
    _tf()
    n, p = X.shape
    n_params_lin = p + (1 if spec.use_bias else 0)
    refs = _check_references(spec, references, n_params_lin)
    bs = n if spec.batch_size is None else min(int(spec.batch_size), n)
    val_bs = n if spec.batch_size is None else int(spec.batch_size)
    has_val = X_val is not None
    dims = [p] + (list(spec.hidden) if spec.is_mlp else []) + [1]
    n_params = sum(
        dims[i] * dims[i + 1] + (dims[i + 1] if spec.use_bias else 0) for i in range(len(dims) - 1)
    )
    record_params = (not spec.is_mlp) or n_params <= MAX_PARAMS_IN_HISTORY
    results = []
    for r in range(int(spec.repeats)):
        t0 = time.perf_counter()
        rseed = repeat_seed(seed, r)
        init = _initial_weights(spec, p, rseed)
        with _phase("trace"):  # a new model and optimizer, or a cached one reset
            eng = _get_engine(spec, p, has_val, record_params, jit_compile, init)
        res = eng.run(
            X,
            y,
            X_val,
            y_val,
            epochs=int(spec.epochs),
            bs=bs,
            val_bs=val_bs,
            shuffle=bool(spec.shuffle),
            patience=spec.early_stopping_patience,
            rng=_shuffle_rng(rseed),
        )
        res["has_val"] = has_val
        if res["epochs_run"] > 0:
            # what fit() does after the last epoch (only matters with use_ema)
            eng.optimizer.finalize_variable_values(eng.tvars)
        weights = [np.array(v.numpy()) for v in eng.tvars]
        results.append(
            _result(
                spec,
                r,
                rseed,
                res,
                weights,
                feature_names,
                refs,
                time.perf_counter() - t0,
                int(eng.optimizer.iterations),
            )
        )
    return results


def train_with_model_fit(
    spec: FitSpec,
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    feature_names: Sequence[str],
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    repeat: int = 0,
    threads: int | None = None,
) -> FitResult:
    """The naive reference: ``model.compile(...); model.fit(...)`` for repeat ``repeat``.

    Same model, same initial weights (same seeded initializers), same optimizer / loss
    objects as :func:`train`; ``batch_size=None`` is passed to fit as the full batch and
    ``validation_split`` is left to Keras.  ``history`` holds fit's ``loss`` as
    ``train_loss`` and ``val_loss``; ``loss_end`` is computed only for the last epoch
    (NaN before); ``w_*`` columns come from an ``on_epoch_end`` callback.  Divergence is
    detected after the fact (fit keeps training on NaN; the history is not truncated).
    """
    configure_threads(threads)
    Xtr, ytr, Xv, yv, feature_names = _prepare(spec, X, y, feature_names, X_val, y_val)
    tf, keras = _tf()
    Xall, yall = _as_design(X, y, spec.dtype, spec, "")
    p = Xall.shape[1]
    rseed = repeat_seed(seed, repeat)
    t0 = time.perf_counter()
    with _floatx(spec.dtype):
        model = _build_model(spec, p, _kernel_seeds(rseed, _n_dense(spec)))
        init = _initial_weights(spec, p, rseed)
        got = [v.numpy() for v in model.trainable_variables]
        if not all(np.array_equal(a, b) for a, b in zip(got, init)):
            raise RuntimeError("internal: fit's model did not get the trainer's initial weights")
        opt = _make_optimizer(spec)
        loss = _make_loss(spec)
        model.compile(optimizer=opt, loss=loss)  # jit_compile="auto" (False on CPU)
        weights_log = []

        class _Record(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                weights_log.append(
                    np.concatenate([np.asarray(v.numpy()).reshape(-1) for v in model.trainable_variables])
                )

        callbacks = [_Record()]
        has_val = Xv is not None
        if spec.early_stopping_patience is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss" if has_val else "loss",
                    patience=int(spec.early_stopping_patience),
                    restore_best_weights=False,
                )
            )
        n_train = Xtr.shape[0]
        bs = n_train if spec.batch_size is None else int(spec.batch_size)
        kw = {}
        if X_val is not None:
            kw["validation_data"] = (Xv, yv)
        elif spec.validation_split:
            kw["validation_split"] = float(spec.validation_split)
        fit_x, fit_y = (Xall, yall) if spec.validation_split else (Xtr, ytr)
        # fit's shuffle is tf.random.shuffle inside tf.data; with op determinism on it
        # needs a global TF seed.  (Changes TF's global seed: reference use only.)
        tf.random.set_seed(rseed)
        h = model.fit(
            fit_x,
            fit_y,
            batch_size=bs,
            epochs=int(spec.epochs),
            shuffle=bool(spec.shuffle),
            verbose=0,
            callbacks=callbacks,
            **kw,
        )
        final_end = float(loss(ytr, model(Xtr, training=False)))
    seconds = time.perf_counter() - t0
    k = len(h.history["loss"])
    train_loss = np.asarray(h.history["loss"], dtype=np.float64)
    val = np.asarray(h.history.get("val_loss", [np.nan] * k), dtype=np.float64)
    end = np.full(k, np.nan)
    end[-1] = final_end
    bad = ~(np.isfinite(train_loss) & (np.isfinite(val) | (not has_val)))
    div_epoch = int(np.argmax(bad)) + 1 if bad.any() else None
    weights = [np.array(v.numpy()) for v in model.trainable_variables]
    res = dict(
        train=train_loss,
        end=end,
        val=val,
        par=np.asarray(weights_log),
        sec=np.linspace(seconds / k, seconds, k),
        epochs_run=k,
        stop=1 if div_epoch else 0,
        has_val=has_val,
    )
    out = _result(spec, repeat, rseed, res, weights, feature_names, {}, seconds, int(opt.iterations))
    out.diverged_epoch = div_epoch
    return out
