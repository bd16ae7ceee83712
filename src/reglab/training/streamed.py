"""Keras Dense(1) + Adam trained by streaming a design from disk, chunk by chunk: what seed 001's user ran
instead of least squares, measured on the same files. The compiled step loops over a chunk's batches in
one graph call; rows are shuffled within each chunk (a whole-file shuffle would need the file in memory)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from reglab.core.provenance import peak_rss_mb
from reglab.core.timing import phase
from reglab.training.session import tensorflow

Part = Callable[[], Iterator[tuple[np.ndarray, np.ndarray, int]]]


def adam_stream(
    parts: Sequence[Part], d: int, *, epochs: int, batch_size: int, learning_rate: float = 1e-3, seed: int = 0
) -> dict[str, Any]:
    """Train Dense(1) (MSE, Adam) for ``epochs`` passes over ``parts``; returns coefficients and timing."""
    tf, keras = tensorflow()
    keras.utils.set_random_seed(seed)
    layer = keras.layers.Dense(1)
    layer.build((None, d))
    opt = keras.optimizers.Adam(learning_rate)
    loss_fn = keras.losses.MeanSquaredError()
    rng = np.random.default_rng(seed)
    bs = int(batch_size)

    @tf.function(reduce_retracing=True)
    def train_chunk(X, y):
        n = tf.shape(X)[0]
        nb = (n + bs - 1) // bs
        total = tf.constant(0.0)
        for i in tf.range(nb):
            xb, yb = X[i * bs : (i + 1) * bs], y[i * bs : (i + 1) * bs]
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, layer(xb))
            grads = tape.gradient(loss, layer.trainable_weights)
            opt.apply_gradients(zip(grads, layer.trainable_weights))
            total += loss
        return total / tf.cast(nb, tf.float32)

    steps, history = 0, []
    t0 = time.perf_counter()
    with phase("train"):  # the step's tracing on its first call included
        for epoch in range(epochs):
            losses = []
            for part in parts:
                for X, y, _ in part():
                    perm = rng.permutation(len(y))
                    Xb, yb = tf.constant(X[perm], tf.float32), tf.constant(y[perm, None], tf.float32)
                    losses.append(float(train_chunk(Xb, yb)))
                    steps += -(-len(y) // bs)
            history.append(
                {"epoch": epoch + 1, "loss": float(np.mean(losses)), "seconds": time.perf_counter() - t0}
            )
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
    return {
        "coef": kernel[:, 0].tolist(),
        "intercept": float(bias[0]),
        "epochs": epochs,
        "batch_size": bs,
        "learning_rate": learning_rate,
        "steps": steps,
        "seconds": time.perf_counter() - t0,
        "history": history,
    }


def adam_runs(
    parts: Sequence[Part], features: Sequence[str], runs: Sequence[Mapping[str, Any]], seed: int
) -> dict[str, Any]:
    """Keras Dense(1) + Adam streaming ``parts`` once per configured run: each run's coefficients by
    feature name, its steps, seconds and loss history. Needs no least-squares answer, so its job starts as
    soon as the files exist (:func:`reglab.studies.scale.score_adam` scores it afterwards)."""
    feats = list(features)
    out = {}
    for run in runs:
        res = adam_stream(
            parts,
            len(feats),
            epochs=int(run["epochs"]),
            batch_size=int(run["batch_size"]),
            learning_rate=float(run.get("learning_rate", 1e-3)),
            seed=seed,
        )
        res["coef"] = dict(zip(feats, res["coef"], strict=True))
        out[run["name"]] = res
    return {"runs": out, "peak_rss_mb": peak_rss_mb()}
