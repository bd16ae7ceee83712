"""Benchmark: naive ``model.fit`` vs ``reglab.training.keras_train.train`` on seed 001's run.

Seed 001: X = [[1,2],[2,3],[3,4],[4,5],[5,6]], y = [3,5,7,9,11], Dense(1) with
RandomNormal(0, 0.05) kernel, MSE, Adam(learning_rate=0.1), batch_size=5, shuffle=True
(fit's default), 1000 epochs.

Run on demand (not a test):

    .venv/bin/python bench/bench_trainer.py                  # fit 50 epochs, fast 1000
    .venv/bin/python bench/bench_trainer.py --fit-epochs 1000 --threads 2 --jit

Prints per-epoch times, the ratios (end-to-end: everything the call costs, tracing
included; steady state: the training loop only, second call with the traced loop
cached) and the final weights of both, plus a bit-equality check with shuffle=False.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from reglab.training.keras_train import FitSpec, configure_threads, train, train_with_model_fit  # noqa: E402

X = np.array([[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]], dtype=float)
Y = np.array([3, 5, 7, 9, 11], dtype=float)
NAMES = ["x1", "x2"]


def _weights(res) -> str:
    return f"w = {np.array2string(res.coef, precision=7)}, b = {res.intercept:.7f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit-epochs", type=int, default=50, help="epochs for naive model.fit")
    ap.add_argument("--epochs", type=int, default=1000, help="epochs for the fast trainer")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jit", action="store_true", help="also time jit_compile=True (XLA)")
    a = ap.parse_args(argv)
    configure_threads(a.threads)

    def spec(epochs, shuffle=True):
        return FitSpec(
            "linear", epochs, 0.1, "adam", batch_size=5, shuffle=shuffle, initializer="random_normal"
        )

    # naive model.fit; a short fit too, so the marginal cost of an epoch (without fit's
    # one-off tracing) can be read off the difference
    short = max(1, a.fit_epochs // 5)
    t = time.perf_counter()
    train_with_model_fit(spec(short), X, Y, seed=a.seed, feature_names=NAMES)
    fit_short = time.perf_counter() - t
    t = time.perf_counter()
    fit = train_with_model_fit(spec(a.fit_epochs), X, Y, seed=a.seed, feature_names=NAMES)
    fit_total = time.perf_counter() - t
    fit_per_epoch = fit_total / a.fit_epochs
    fit_marginal = (fit_total - fit_short) / max(1, a.fit_epochs - short)

    # fast trainer: first call (traces), second call (traced loop cached)
    t = time.perf_counter()
    fast = train(spec(a.epochs), X, Y, seed=a.seed, feature_names=NAMES)[0]
    fast_first = time.perf_counter() - t
    t = time.perf_counter()
    fast2 = train(spec(a.epochs), X, Y, seed=a.seed, feature_names=NAMES)[0]
    fast_second = time.perf_counter() - t
    loop = fast2.history["seconds"].iloc[-1]
    assert all(np.array_equal(p, q) for p, q in zip(fast.weights, fast2.weights))

    print(f"seed 001 run: Adam(0.1), batch 5, shuffle=True, threads={a.threads}")
    print(
        f"model.fit        : {a.fit_epochs:5d} epochs in {fit_total:8.3f} s "
        f"= {1e3 * fit_per_epoch:8.3f} ms/epoch (marginal, from a {short}-epoch fit: "
        f"{1e3 * fit_marginal:.3f} ms/epoch)"
    )
    print(
        f"train (1st call) : {a.epochs:5d} epochs in {fast_first:8.3f} s "
        f"= {1e3 * fast_first / a.epochs:8.3f} ms/epoch  (incl. graph tracing)"
    )
    print(
        f"train (2nd call) : {a.epochs:5d} epochs in {fast_second:8.3f} s "
        f"= {1e3 * fast_second / a.epochs:8.3f} ms/epoch  (loop only: "
        f"{1e6 * loop / a.epochs:.1f} us/epoch)"
    )
    print(
        f"per-epoch ratio fit/train: end-to-end first call {fit_per_epoch / (fast_first / a.epochs):8.1f}x, "
        f"second call {fit_per_epoch / (fast_second / a.epochs):8.1f}x, "
        f"loop only {fit_per_epoch / (loop / a.epochs):8.1f}x; "
        f"fit marginal / loop only {fit_marginal / (loop / a.epochs):8.1f}x"
    )
    if a.jit:
        t = time.perf_counter()
        train(spec(a.epochs), X, Y, seed=a.seed, feature_names=NAMES, jit_compile=True)
        j1 = time.perf_counter() - t
        t = time.perf_counter()
        fj = train(spec(a.epochs), X, Y, seed=a.seed, feature_names=NAMES, jit_compile=True)[0]
        j2 = time.perf_counter() - t
        jl = fj.history["seconds"].iloc[-1]
        print(
            f"train jit=True   : 1st call {j1:.3f} s (incl. XLA compile), 2nd call {j2:.3f} s, "
            f"loop {1e6 * jl / a.epochs:.1f} us/epoch; ratio (2nd call) "
            f"{fit_per_epoch / (j2 / a.epochs):.0f}x; {_weights(fj)}"
        )
    same_len = train(spec(a.fit_epochs), X, Y, seed=a.seed, feature_names=NAMES)[0]
    print(f"final weights  model.fit after {a.fit_epochs:4d} epochs: {_weights(fit)}")
    print(
        f"final weights  train     after {a.fit_epochs:4d} epochs: {_weights(same_len)}"
        "  (shuffle=True: other permutations than fit's)"
    )
    print(f"final weights  train     after {a.epochs:4d} epochs: {_weights(fast)}")

    # equality where shuffling plays no part
    k = min(a.fit_epochs, 50)
    f0 = train_with_model_fit(spec(k, shuffle=False), X, Y, seed=a.seed, feature_names=NAMES)
    t0 = train(spec(k, shuffle=False), X, Y, seed=a.seed, feature_names=NAMES)[0]
    same = all(np.array_equal(p, q) for p, q in zip(f0.weights, t0.weights))
    rel = max(float(np.max(np.abs(p - q) / np.abs(q))) for p, q in zip(t0.weights, f0.weights))
    print(
        f"shuffle=False, {k} epochs: bit-identical to model.fit: {same} (max rel diff {rel:.2e}); "
        f"{_weights(t0)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
