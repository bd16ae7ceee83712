"""reglab.training.keras_train: the fast compiled Keras trainer against naive model.fit.

Everything here imports TensorFlow (marked ``keras``).  Equality with ``model.fit`` is
asserted *bit for bit* where shuffling plays no part; that is what the trainer delivers
on one machine (same TF kernels, same float operations, no XLA on either side).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from reglab.training import keras_train as kt
from reglab.training.keras_train import FitSpec, train, train_with_model_fit

pytestmark = pytest.mark.keras

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    kt.configure_threads(1)

# seed 001's data: x2 = x1 + 1, y = 2 x1 + 1 (collinear)
X1 = np.array([[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]], dtype=float)
Y1 = np.array([3, 5, 7, 9, 11], dtype=float)
NAMES = ["x1", "x2"]


_FIT_CACHE: dict = {}


def _fit(spec: FitSpec, seed: int = 1):
    """model.fit reference on seed 001's data (cached: fit is the slow part)."""
    key = (repr(spec), seed)
    if key not in _FIT_CACHE:
        _FIT_CACHE[key] = train_with_model_fit(spec, X1, Y1, seed=seed, feature_names=NAMES)
    return _FIT_CACHE[key]


def _fast(spec: FitSpec, seed: int = 1, **kw):
    return train(spec, X1, Y1, seed=seed, feature_names=NAMES, **kw)


def _assert_same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for wa, wb in zip(a.weights, b.weights):
        assert wa.dtype == wb.dtype
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=0)  # the brief's tolerance
        assert np.array_equal(wa, wb), f"not bit-identical: {wa} vs {wb}"


# ------------------------------------------------------------------ equality with fit


@pytest.mark.parametrize(
    "spec",
    [
        FitSpec("linear", 30, 0.01, "sgd", batch_size=None, shuffle=False),
        FitSpec("linear", 50, 0.1, "adam", batch_size=5, shuffle=False),  # seed 001
        FitSpec("linear", 20, 0.05, "adam", batch_size=2, shuffle=False),  # 2+2+1 rows
        FitSpec(
            "linear",
            20,
            0.01,
            "sgd",
            {"momentum": 0.9, "nesterov": True},
            batch_size=2,
            shuffle=False,
            dtype="float64",
        ),
    ],
    ids=["sgd-full", "adam-full", "adam-batch2", "sgd-nesterov-batch2-f64"],
)
def test_matches_model_fit_bitwise(spec):
    fast = _fast(spec)[0]
    ref = _fit(spec)
    _assert_same_weights(fast, ref)
    assert fast.optimizer_steps == ref.optimizer_steps == spec.epochs * math.ceil(5 / (spec.batch_size or 5))
    # fit's epoch loss (batch-size-weighted mean of batch losses) is reproduced exactly
    assert np.array_equal(fast.history["train_loss"].to_numpy(), ref.history["train_loss"].to_numpy())
    assert fast.final_train_loss == ref.final_train_loss
    assert fast.epochs_run == spec.epochs and not fast.diverged


def test_shuffled_full_batch_close_to_fit():
    # With one full batch the permutation only changes the order of float sums.
    spec = FitSpec("linear", 50, 0.1, "adam", batch_size=5, shuffle=True)
    fast, ref = _fast(spec)[0], _fit(spec)
    for a, b in zip(fast.weights, ref.weights):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_validation_split_and_early_stopping_match_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=20)
    spec = FitSpec("linear", 60, 0.3, "adam", validation_split=0.25, early_stopping_patience=2, shuffle=False)
    fast = train(spec, X, y, seed=3, feature_names=list("abc"))[0]
    ref = train_with_model_fit(spec, X, y, seed=3, feature_names=list("abc"))
    assert fast.epochs_run == ref.epochs_run < 60  # stopped early, same epoch
    _assert_same_weights(fast, ref)
    assert np.array_equal(fast.history["val_loss"].to_numpy(), ref.history["val_loss"].to_numpy())
    assert fast.final_val_loss == ref.final_val_loss


def test_jit_compile_close_to_fit():
    spec = FitSpec("linear", 50, 0.1, "adam", batch_size=5, shuffle=False)
    fast = _fast(spec, jit_compile=True)[0]
    for a, b in zip(fast.weights, _fit(spec).weights):
        np.testing.assert_allclose(a, b, rtol=1e-5)


# ------------------------------------------------------------------- minibatch shuffle


def test_shuffle_keeps_partial_batch_and_follows_permutations():
    """n=7, batch 3: 3 updates per epoch (3+3+1), batches in permutation order.

    Checked against an eager loop over Keras' model/optimizer/loss that uses the same
    per-epoch permutations (the trainer's numpy stream).
    """
    import tensorflow as tf

    rng = np.random.default_rng(5)
    X = rng.normal(size=(7, 2))
    y = X @ [2.0, -1.0] + 0.5
    spec = FitSpec("linear", 4, 0.05, "adam", batch_size=3, shuffle=True)
    fast = train(spec, X, y, seed=11, feature_names=["a", "b"])[0]
    assert fast.optimizer_steps == 4 * 3

    rseed = kt.repeat_seed(11, 0)
    with kt._floatx("float32"):
        model = kt._build_model(spec, 2, kt._kernel_seeds(rseed, 1))
        opt, loss_fn = kt._make_optimizer(spec), kt._make_loss(spec)
    Xf, yf = X.astype("float32"), y.astype("float32").reshape(-1, 1)
    perm_rng = kt._shuffle_rng(rseed)
    epoch_losses = []
    for _ in range(4):
        perm = perm_rng.permutation(7)
        total = count = 0.0
        for start in range(0, 7, 3):
            idx = perm[start : start + 3]
            with tf.GradientTape() as tape:
                loss = loss_fn(tf.gather(yf, idx), model(tf.gather(Xf, idx), training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            total, count = total + float(loss) * len(idx), count + len(idx)
        epoch_losses.append(total / count)
    assert int(opt.iterations) == 12
    for a, b in zip(fast.weights, model.trainable_variables):
        assert np.array_equal(a, b.numpy())  # bit-identical to the eager loop
    np.testing.assert_allclose(fast.history["train_loss"], epoch_losses, rtol=1e-5)


# ------------------------------------------------------------------------- determinism


def test_determinism_and_repeats():
    spec = FitSpec("linear", 40, 0.05, "adam", batch_size=2, shuffle=True, repeats=2)
    a = _fast(spec, seed=7)
    kt.clear_cache()  # second call: freshly built model + trace
    b = _fast(spec, seed=7)
    c = _fast(spec, seed=7)  # third call: cached, reset model/optimizer
    for ra, rb, rc in zip(a, b, c):
        assert ra.seed == rb.seed == kt.repeat_seed(7, ra.repeat)
        for wa, wb, wc in zip(ra.weights, rb.weights, rc.weights):
            assert np.array_equal(wa, wb) and np.array_equal(wa, wc)
    # different repeats: different initialisations (and results)
    assert a[0].seed != a[1].seed
    init0 = kt._initial_weights(spec, 2, a[0].seed)
    init1 = kt._initial_weights(spec, 2, a[1].seed)
    assert not np.array_equal(init0[0], init1[0])
    assert np.all(init0[1] == 0)  # Keras' default bias initializer
    assert not np.array_equal(a[0].weights[0], a[1].weights[0])
    other = _fast(spec, seed=8)
    assert not np.array_equal(other[0].weights[0], a[0].weights[0])


# -------------------------------------------------------------------------- divergence


def test_divergence_is_reported_not_raised():
    X = X1 * 1000.0  # unscaled design
    spec = FitSpec("linear", 200, 1.0, "sgd", batch_size=None, shuffle=False)
    res = train(spec, X, Y1, seed=1, feature_names=NAMES)[0]
    assert res.diverged
    assert res.diverged_epoch == res.epochs_run == len(res.history) < 200
    h = res.history
    assert not np.isfinite(h[["train_loss", "loss_end"]].to_numpy()[-1]).all()
    assert np.isfinite(h["train_loss"].to_numpy()[:-1]).all()


# ------------------------------------------------------------ other models and dtypes


def test_logistic_and_mlps_reduce_the_loss_and_float64():
    rng = np.random.default_rng(2)
    X = rng.uniform(-0.5, 0.5, size=(64, 3))
    y_cls = (X @ [1.0, 2.0, -1.0] > 0).astype(float)
    y_reg = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    names = ["a", "b", "c"]
    cases = [
        (FitSpec("logistic", 40, 0.1, "adam", batch_size=16), y_cls),
        (FitSpec("logistic", 40, 0.5, "adagrad", batch_size=16, dtype="float64"), y_cls),
        (
            FitSpec(
                "mlp_regression",
                30,
                0.01,
                "rmsprop",
                batch_size=16,
                hidden=(8,),
                initializer="glorot_uniform",
            ),
            y_reg,
        ),
        (
            FitSpec(
                "mlp_classification",
                30,
                0.01,
                "adam",
                batch_size=16,
                hidden=(8, 4),
                initializer="glorot_uniform",
                dtype="float64",
                validation_split=0.25,
            ),
            y_cls,
        ),
    ]
    for spec, y in cases:
        res = train(spec, X, y, seed=4, feature_names=names)[0]
        h = res.history
        assert not res.diverged and res.epochs_run == spec.epochs
        assert h["loss_end"].iloc[-1] < 0.9 * h["loss_end"].iloc[0], spec
        want = np.dtype(spec.dtype)
        assert all(w.dtype == want for w in res.weights)
        if spec.is_mlp:
            assert res.coef is None and res.intercept is None
        else:
            assert res.coef.shape == (3,) and res.coef.dtype == want
    # float64 all the way: the optimizer's slots and learning rate too
    eng64 = [e for e in kt._ENGINES.values() if e.dtype == "float64"]
    assert eng64
    for eng in eng64:
        for v in eng.optimizer.variables:
            if "int" not in str(v.dtype):
                assert str(v.dtype) == "float64", v
        assert all(str(v.dtype) == "float64" for v in eng.tvars)


# ---------------------------------------------------------------- history + references


def test_history_columns_and_references():
    spec = FitSpec("linear", 25, 0.1, "adam", batch_size=5, shuffle=False)
    ref = {"ones": np.array([1.0, 1.0, 1.0]), "ols_min_norm": np.linalg.pinv(np.c_[X1, np.ones(5)]) @ Y1}
    res = _fast(spec, references=ref)[0]
    h = res.history
    assert list(h.columns) == [
        "epoch",
        "train_loss",
        "loss_end",
        "val_loss",
        "seconds",
        "w_x1",
        "w_x2",
        "w_intercept",
        "dist_ones",
        "dist_ols_min_norm",
    ]
    assert h["epoch"].tolist() == list(range(1, 26))
    assert h["val_loss"].isna().all() and res.final_val_loss is None
    assert (np.diff(h["seconds"]) >= 0).all()
    last = np.r_[res.coef, res.intercept]
    np.testing.assert_allclose(h[["w_x1", "w_x2", "w_intercept"]].iloc[-1], last)
    np.testing.assert_allclose(h["dist_ones"].iloc[-1], np.linalg.norm(last - 1.0), rtol=1e-6)
    assert res.final_train_loss == h["loss_end"].iloc[-1]
    # no bias: intercept None, no intercept column
    nb = _fast(FitSpec("linear", 3, 0.1, "sgd", use_bias=False, shuffle=False))[0]
    assert nb.intercept is None and "w_intercept" not in nb.history


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, X, y, match",
    [
        (dict(optimizer="adamw"), X1, Y1, "unknown optimizer"),
        (dict(model="poisson"), X1, Y1, "unknown model"),
        (dict(initializer="he_normal"), X1, Y1, "unknown initializer"),
        (dict(batch_size=0), X1, Y1, "batch_size"),
        (dict(), X1, Y1[:4], "shape mismatch"),
        (dict(), X1[:, 0], Y1, "2-D"),
        (dict(model="logistic"), X1, Y1, "binary"),
        (dict(dtype="float16"), X1, Y1, "dtype"),
        (dict(epochs=0), X1, Y1, "epochs"),
        (dict(optimizer_options={"momentum": 0.9}), X1, Y1, "optimizer_options"),
        (dict(validation_split=0.9), X1, Y1, "validation_split"),  # 0 training rows
        (dict(validation_split=1.0), X1, Y1, "validation_split"),
    ],
)
def test_bad_input_raises_clear_value_error(kwargs, X, y, match):
    base = dict(model="linear", epochs=2, learning_rate=0.1)
    spec = FitSpec(**{**base, **kwargs})
    with pytest.raises(ValueError, match=match):
        train(spec, X, y, seed=1, feature_names=NAMES)


def test_bad_names_and_references():
    spec = FitSpec("linear", 2, 0.1)
    with pytest.raises(ValueError, match="feature_names"):
        train(spec, X1, Y1, seed=1, feature_names=["x1"])
    with pytest.raises(ValueError, match="reference 'r' has 2 values"):
        train(spec, X1, Y1, seed=1, feature_names=NAMES, references={"r": np.ones(2)})
    with pytest.raises(ValueError, match="threads"):
        kt.configure_threads(0)


@pytest.mark.parametrize("patience", [None, 2])
def test_epochs_split_across_compiled_calls_train_exactly_as_in_one(monkeypatch, patience):
    """The epochs run in compiled calls of at most ``_CHUNK_EPOCHS``; where the calls split a run (with
    shuffling, early stopping and validation carried over) changes no number, only the timing."""
    spec = FitSpec(
        "linear",
        40,
        0.02,
        "sgd",
        batch_size=2,
        validation_split=0.2,
        early_stopping_patience=patience,
        repeats=2,
    )
    one = _fast(spec)
    monkeypatch.setattr(kt, "_CHUNK_EPOCHS", 3)
    split = _fast(spec)
    assert [r.epochs_run for r in one] == [r.epochs_run for r in split]
    for a, b in zip(one, split):
        cols = [c for c in a.history.columns if c != "seconds"]
        pd.testing.assert_frame_equal(a.history[cols], b.history[cols], check_exact=True)
        assert np.array_equal(a.coef, b.coef) and a.intercept == b.intercept


def test_a_tensorflow_process_skips_the_exit_collection_of_its_objects():
    """The first TensorFlow set-up freezes the heap at exit (gc.freeze), so Python's last collections do
    not walk TensorFlow's objects; an atexit handler registered before it runs after it and sees them
    frozen. Without the freeze, a TensorFlow job spends about 1 s exiting after its outputs are written."""
    import subprocess
    import sys

    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count()))\n"
        "from reglab.training import session\n"
        "session.tensorflow()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split("frozen")[-1]) > 100_000, out.stdout  # TensorFlow's objects, every one
