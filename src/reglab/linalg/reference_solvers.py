"""Reference optimisers for linear least squares, each returning a :class:`SolverTrace`.

They are the yardsticks against which Keras' SGD/Adam runs are read: exact full-batch GD (with ``eta = 1/L``,
``L = lambda_max`` of the MSE Hessian, or any other step), conjugate gradients on the normal equations,
L-BFGS, plain minibatch SGD with Polyak averaging, scikit-learn's ``SGDRegressor``, and the two algorithms
printed in the FuelConsumption article (seed 004).

Conventions
-----------
* ``A`` (n, p) is the design (features, then a ones column LAST when there is an intercept, see
  :func:`reglab.linalg.lsq.design.design_matrix`), ``b`` (n,) the target, ``w0`` (p,) the start.
* Every logged ``loss`` is Keras' MSE ``mean((A w - b)**2)`` over all ``n`` rows, in float64 -- also for the
  article's algorithms, whose own objective is the *sum* of squares -- so traces are comparable.
* Logging: ``steps`` holds 1-based step (or epoch / iteration) indices.  Runs of at most ``max_logged``
  steps log every step; longer runs log at most ``max_logged`` log-spaced steps (rounded, de-duplicated),
  always including step 1 and the last step.  ``weights`` (k, p) holds the logged iterates when
  ``p <= WEIGHTS_MAX_P`` (else None).  ``seconds`` is the cumulative wall time at each logged step,
  measured from the start of the call (set-up such as precomputed Gram matrices included) with the cost of
  computing the logged losses excluded.
* A run whose iterate becomes non-finite stops at the first logged step where that is seen
  (``extra["diverged"] = True``); that step is the last one logged.
* Deterministic: every random draw comes from the ``rng: numpy.random.Generator`` passed in (or, for
  scikit-learn, from ``rng_seed``).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from reglab.core import stats
from reglab.core.io import to_jsonable
from reglab.linalg.lsq.design import design_matrix
from reglab.linalg.validate import check_A, check_Abw, check_eta, check_vec

__all__ = [
    "WEIGHTS_MAX_P",
    "SolverTrace",
    "log_steps",
    "mse",
    "one_over_L",
    "keras_lr_to_sklearn_eta0",
    "gradient_descent",
    "conjugate_gradient",
    "lbfgs",
    "sgd_numpy",
    "sklearn_sgd",
    "article_gd",
    "article_sgd",
]

#: Logged iterates are kept in ``SolverTrace.weights`` only up to this many parameters.
WEIGHTS_MAX_P: int = 50
_CHUNK_ELEMS: int = 1 << 20  # elements per precomputed chunk of random keys / batch rows in article_sgd


# ----------------------------------------------------------------------------------------------
# trace and logging
# ----------------------------------------------------------------------------------------------


@dataclass
class SolverTrace:
    """What a reference solver did.

    name : solver name; w_final : (p,) final iterate (for ``sklearn_sgd`` with ``average=True``, the averaged
    coefficients it returns); steps : (k,) int64 1-based logged step/epoch/iteration indices; losses : (k,)
    float64 MSE at those steps; weights : (k, p) logged iterates or None when ``p > WEIGHTS_MAX_P``;
    seconds : (k,) cumulative wall time at those steps; extra : solver-specific details (always
    ``"loss_initial"``, ``"step_unit"``, ``"diverged"``).
    """

    name: str
    w_final: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    weights: np.ndarray | None
    seconds: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def loss_final(self) -> float:
        """MSE of the last logged step (NaN when nothing was logged)."""
        return float(self.losses[-1]) if self.losses.size else math.nan

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict (arrays as lists, non-finite floats as None)."""
        return to_jsonable(
            {
                "name": self.name,
                "w_final": self.w_final,
                "steps": self.steps,
                "losses": self.losses,
                "weights": self.weights,
                "seconds": self.seconds,
                "extra": self.extra,
            }
        )


def log_steps(total: int, max_logged: int = 2000) -> np.ndarray:
    """1-based steps to log for a run of ``total`` steps.  Returns int64 (k,), strictly increasing.

    All of them when ``total <= max_logged``.  Otherwise exactly ``max_logged`` steps (1 when
    ``max_logged == 1``: just ``total``): every step ``1 .. m`` and then ``max_logged - m`` geometrically
    spaced steps ``round(m * r**j)`` ending at ``total``, with ``m`` the smallest prefix for which the
    geometric spacing ``m (r - 1)`` is at least 1 (so rounding never merges two points).  This is log spacing
    that spends the whole budget.
    """
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 0:
        raise ValueError(f"the number of steps must be a non-negative integer; got {total!r}")
    if isinstance(max_logged, bool) or not isinstance(max_logged, (int, np.integer)) or max_logged < 1:
        raise ValueError(f"max_logged must be an integer >= 1; got {max_logged!r}")
    total, K = int(total), int(max_logged)
    if total <= K:
        return np.arange(1, total + 1, dtype=np.int64)
    if K == 1:
        return np.array([total], dtype=np.int64)

    def spacing(m: int) -> float:  # first gap of the geometric tail after a dense prefix 1..m
        return m * math.expm1(math.log(total / m) / (K - m))

    lo, hi = 1, K - 1  # spacing(K - 1) = total - K + 1 >= 1
    while lo < hi:
        mid = (lo + hi) // 2
        if spacing(mid) >= 1.0:
            hi = mid
        else:
            lo = mid + 1
    m = lo
    j = np.arange(1, K - m + 1, dtype=np.float64)
    tail = np.round(m * np.exp(j * (math.log(total / m) / (K - m)))).astype(np.int64)
    tail[-1] = total
    return np.unique(np.concatenate([np.arange(1, m + 1, dtype=np.int64), tail]))


def mse(A: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    """Keras' MSE ``mean((A w - b)**2)`` in float64: ``A`` (n, p), ``b`` (n,), ``w`` (p,)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return stats.mse(A @ w - b)


def _mse_rows(A: np.ndarray, b: np.ndarray, W: np.ndarray) -> np.ndarray:
    """MSE of every row of ``W`` (k, p) -> (k,), in blocks to bound memory."""
    out = np.empty(W.shape[0])
    block = max(1, _CHUNK_ELEMS // max(1, A.shape[0]))
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(0, W.shape[0], block):
            out[i : i + block] = stats.mse(W[i : i + block] @ A.T - b, axis=1)
    return out


class _Recorder:
    """Collects logged iterates and times; the loss evaluations happen off the clock."""

    def __init__(self, A: np.ndarray, b: np.ndarray, planned: np.ndarray, aux: tuple[str, ...] = ()) -> None:
        self.t0 = time.perf_counter()
        self.paused = 0.0
        self.A, self.b = A, b
        self.planned = planned
        self.pos = 0
        self.next = int(planned[0]) if planned.size else -1
        self.keep_w = A.shape[1] <= WEIGHTS_MAX_P
        self.steps: list[int] = []
        self.times: list[float] = []
        self.ws: list[np.ndarray] = []
        self.losses: list[float] = []
        self.aux = {name: ([], []) for name in aux}  # name -> (iterates, losses)
        self.diverged_step: int | None = None

    def now(self) -> float:
        return time.perf_counter() - self.t0 - self.paused

    def record(
        self, t: int, w: np.ndarray, *, at: float | None = None, aux: dict[str, np.ndarray] | None = None
    ) -> bool:
        """Log iterate ``w`` at step ``t``; returns False when ``w`` is non-finite (the caller stops)."""
        stamp = self.now() if at is None else at
        start = time.perf_counter()
        self.steps.append(int(t))
        self.times.append(stamp)
        for name, v in (aux or {}).items():
            its, ls = self.aux[name]
            if self.keep_w:
                its.append(np.array(v, dtype=np.float64))
            else:
                ls.append(mse(self.A, self.b, v))
        if self.keep_w:
            self.ws.append(np.array(w, dtype=np.float64))
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                self.losses.append(mse(self.A, self.b, w))
        while self.pos < self.planned.size and self.planned[self.pos] <= t:
            self.pos += 1
        self.next = int(self.planned[self.pos]) if self.pos < self.planned.size else -1
        finite = bool(np.isfinite(w).all())
        if not finite and self.diverged_step is None:
            self.diverged_step = int(t)
        self.paused += time.perf_counter() - start
        return finite

    def last_step(self) -> int | None:
        return self.steps[-1] if self.steps else None

    def finish(self, name: str, w_final: np.ndarray, extra: dict[str, Any]) -> SolverTrace:
        p = self.A.shape[1]
        if self.keep_w:
            W = np.array(self.ws, dtype=np.float64).reshape(len(self.ws), p)
            losses = _mse_rows(self.A, self.b, W)
        else:
            W = None
            losses = np.array(self.losses, dtype=np.float64)
        for aux_name, (its, ls) in self.aux.items():
            if self.keep_w:
                Wa = np.array(its, dtype=np.float64).reshape(len(its), p)
                extra[f"losses_{aux_name}"] = _mse_rows(self.A, self.b, Wa)
                extra[f"weights_{aux_name}"] = Wa
            else:
                extra[f"losses_{aux_name}"] = np.array(ls, dtype=np.float64)
        extra["diverged"] = self.diverged_step is not None
        extra["diverged_step"] = self.diverged_step
        return SolverTrace(
            name=name,
            w_final=np.array(w_final, dtype=np.float64),
            steps=np.array(self.steps, dtype=np.int64),
            losses=losses,
            weights=W,
            seconds=np.array(self.times, dtype=np.float64),
            extra=extra,
        )


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------


def _check_pos_int(v: Any, name: str, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {v!r}")
    return int(v)


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)); got "
            f"{type(rng).__name__}"
        )
    return rng


# ----------------------------------------------------------------------------------------------
# full-batch methods
# ----------------------------------------------------------------------------------------------


def one_over_L(A: np.ndarray) -> float:
    """The classical safe step ``1 / L`` for the MSE on design ``A`` (n, p): ``L = lambda_max((2/n) A'A)
    = 2 s_max**2 / n`` (from the largest singular value; no ``A'A`` formed)."""
    Aa = check_A(A)
    s_max = float(np.linalg.norm(Aa, 2))
    if s_max == 0.0:
        raise ValueError("A is zero: the loss is constant and 1/L is undefined")
    return Aa.shape[0] / (2.0 * s_max**2)


def gradient_descent(
    A: np.ndarray,
    b: np.ndarray,
    w0: np.ndarray,
    eta: float,
    steps: int,
    *,
    form: Literal["residual", "gram"] = "residual",
    max_logged: int = 2000,
) -> SolverTrace:
    """Full-batch GD on the MSE in float64: ``w <- w - eta * (2/n) A'(A w - b)`` for ``steps`` steps.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,).  ``form="residual"`` computes the gradient as Keras'
    autodiff does (residual first, ``O(np)`` per step); ``form="gram"`` uses the precomputed ``A'A`` and
    ``A'b`` (``O(p^2)`` per step, faster when ``n >> p``; same iteration up to rounding).  Use
    ``eta = one_over_L(A)`` for the "1/L" reference.
    """
    Aa, ba, w = check_Abw(A, b, w0)
    e = check_eta(eta)
    T = _check_pos_int(steps, "steps", 0)
    if form not in ("residual", "gram"):
        raise ValueError(f"form must be 'residual' or 'gram'; got {form!r}")
    n = Aa.shape[0]
    extra: dict[str, Any] = {"loss_initial": mse(Aa, ba, w), "step_unit": "step", "eta": e, "form": form}
    rec = _Recorder(Aa, ba, log_steps(T, max_logged))
    AT = np.ascontiguousarray(Aa.T)
    scale = 2.0 / n
    with np.errstate(over="ignore", invalid="ignore"):
        if form == "gram":
            G = AT @ Aa
            c = AT @ ba
            for t in range(1, T + 1):
                w = w - e * (scale * (G @ w - c))
                if t == rec.next and not rec.record(t, w):
                    break
        else:
            for t in range(1, T + 1):
                w = w - e * (scale * (AT @ (Aa @ w - ba)))
                if t == rec.next and not rec.record(t, w):
                    break
    return rec.finish("gradient_descent", w, extra)


def conjugate_gradient(
    A: np.ndarray,
    b: np.ndarray,
    steps: int,
    *,
    w0: np.ndarray | None = None,
    max_logged: int = 2000,
) -> SolverTrace:
    """Conjugate gradients on the normal equations, as CGLS (Hestenes-Stiefel / Bjorck), logging every
    iterate.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,) (default zeros, whence the iterates converge to the
    minimum-norm solution).  CGLS updates the residual ``r = b - A x`` in R^n and never forms ``A'A``; in
    exact arithmetic its iterates are LSQR's (``scipy.sparse.linalg.lsqr``) and those of CG on
    ``A'A x = A'b``.  It was chosen over scipy because ``lsqr`` has no per-iteration callback (re-running it
    with ``iter_lim=k`` costs ``O(k^2)``) and ``scipy.sparse.linalg.cg`` on ``A'A`` is the less stable CGNR.
    The loss is scale-free here: CG on the MSE and on the sum of squares give the same iterates.  Stops early,
    with ``extra["converged_exactly"]``, when the normal-equations residual or the search direction is exactly
    zero (a further step would divide by zero).
    """
    Aa = check_A(A)
    n, p = Aa.shape
    ba = check_vec(b, n, "b")
    x = np.zeros(p) if w0 is None else check_vec(w0, p, "w0")
    T = _check_pos_int(steps, "steps", 0)
    extra: dict[str, Any] = {"loss_initial": mse(Aa, ba, x), "step_unit": "iteration", "method": "CGLS"}
    rec = _Recorder(Aa, ba, log_steps(T, max_logged))
    AT = np.ascontiguousarray(Aa.T)
    r = ba - Aa @ x
    s = AT @ r
    d = s.copy()
    gamma = float(s @ s)
    done = 0
    exact = False
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, T + 1):
            q = Aa @ d
            delta = float(q @ q)
            if gamma == 0.0 or delta == 0.0:
                exact = True
                break
            alpha = gamma / delta
            x = x + alpha * d
            r = r - alpha * q
            s = AT @ r
            gamma_new = float(s @ s)
            d = s + (gamma_new / gamma) * d
            gamma = gamma_new
            done = t
            if t == rec.next and not rec.record(t, x):
                break
    if done and rec.last_step() != done:
        rec.record(done, x)
    extra["iterations"] = done
    extra["converged_exactly"] = exact
    return rec.finish("conjugate_gradient", x, extra)


def lbfgs(
    A: np.ndarray,
    b: np.ndarray,
    w0: np.ndarray,
    steps: int,
    *,
    maxcor: int = 10,
    max_logged: int = 2000,
) -> SolverTrace:
    """``scipy.optimize.minimize(method="L-BFGS-B")`` on the MSE with its analytic gradient
    ``(2/n) A'(A w - b)``.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,).  ``gtol = ftol = 0`` so it runs ``steps`` iterations or
    until its line search can make no more progress (the usual end at machine precision); ``maxfun`` is set
    generously (``max(15000, 50 * steps)``).  Iterates are logged through the per-iteration callback; the
    wall time includes the function evaluations made by the line search.  ``extra`` carries scipy's
    ``message``, ``nit``, ``nfev``.
    """
    from scipy.optimize import minimize

    Aa, ba, w = check_Abw(A, b, w0)
    T = _check_pos_int(steps, "steps", 1)
    n = Aa.shape[0]
    AT = np.ascontiguousarray(Aa.T)
    extra: dict[str, Any] = {"loss_initial": mse(Aa, ba, w), "step_unit": "iteration", "maxcor": maxcor}
    rec = _Recorder(Aa, ba, log_steps(T, max_logged))
    state: dict[str, Any] = {"t": 0, "last": None}

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        r = Aa @ x - ba
        return float(r @ r) / n, (2.0 / n) * (AT @ r)

    def callback(xk: np.ndarray) -> None:
        state["t"] += 1
        t = state["t"]
        state["last"] = (t, np.array(xk, dtype=np.float64), rec.now())
        if t == rec.next:
            rec.record(t, xk)

    res = minimize(
        fun,
        w,
        jac=True,
        method="L-BFGS-B",
        callback=callback,
        options={"maxiter": T, "maxfun": max(15000, 50 * T), "gtol": 0.0, "ftol": 0.0, "maxcor": int(maxcor)},
    )
    last = state["last"]
    if last is not None and rec.last_step() != last[0]:
        rec.record(last[0], last[1], at=last[2])
    extra.update({"message": str(res.message), "nit": int(res.nit), "nfev": int(res.nfev)})
    return rec.finish("lbfgs", np.asarray(res.x, dtype=np.float64), extra)


# ----------------------------------------------------------------------------------------------
# stochastic methods
# ----------------------------------------------------------------------------------------------


def sgd_numpy(
    A: np.ndarray,
    b: np.ndarray,
    w0: np.ndarray,
    eta: float,
    batch_size: int,
    epochs: int,
    rng: np.random.Generator,
    *,
    averaging: bool = True,
    max_logged: int = 2000,
) -> SolverTrace:
    """Plain minibatch SGD on the MSE with Keras' batching, in float64.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,).  Each epoch draws ``rng.permutation(n)`` and walks it in
    batches of ``batch_size`` (the last, partial batch kept -- ``ceil(n / batch_size)`` steps per epoch);
    each step is ``w <- w - eta * (2/|B|) A_B'(A_B w - b_B)``.  Logged per epoch (``steps`` are epoch
    numbers; the loss is the full-data MSE after the epoch's last step, not Keras' running batch mean).

    With ``averaging=True`` ``extra`` also holds, over the post-update iterates ``w_1 .. w_T``
    (``T = epochs * steps_per_epoch``): ``"w_polyak"`` (mean of all), ``"w_tail"`` (mean of ``w_t`` for
    ``t > T // 2``, as :func:`reglab.linalg.theory.polyak_average` with ``tail=True``), their MSEs
    ``"loss_polyak"``, ``"loss_tail"``, and the running Polyak average's MSE at each logged epoch
    (``"losses_polyak"``). ``w_final`` is always the last iterate.
    """
    Aa, ba, w = check_Abw(A, b, w0)
    e = check_eta(eta)
    bs = _check_pos_int(batch_size, "batch_size")
    E = _check_pos_int(epochs, "epochs")
    g = _check_rng(rng)
    n = Aa.shape[0]
    spe = -(-n // bs)
    T = E * spe
    tail_from = T // 2  # 0-based index of the first tail iterate
    extra: dict[str, Any] = {
        "loss_initial": mse(Aa, ba, w),
        "step_unit": "epoch",
        "steps_per_epoch": spe,
        "eta": e,
        "batch_size": bs,
    }
    rec = _Recorder(Aa, ba, log_steps(E, max_logged), aux=("polyak",) if averaging else ())
    bounds = [(s, min(s + bs, n)) for s in range(0, n, bs)]
    scales = [2.0 / (hi - lo) for lo, hi in bounds]
    s_all = np.zeros_like(w)
    s_tail = np.zeros_like(w)
    t = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, E + 1):
            perm = g.permutation(n)
            Ap = Aa[perm]
            bp = ba[perm]
            for (lo, hi), sc in zip(bounds, scales):
                Ab = Ap[lo:hi]
                w = w - e * (sc * (Ab.T @ (Ab @ w - bp[lo:hi])))
                if averaging:
                    s_all += w
                    if t >= tail_from:
                        s_tail += w
                t += 1
            if epoch == rec.next:
                aux = {"polyak": s_all / t} if averaging else None
                if not rec.record(epoch, w, aux=aux):
                    break
    extra["steps_done"] = t
    if averaging:
        extra.update(_averages(Aa, ba, s_all, s_tail, t, tail_from))
    return rec.finish("sgd_numpy", w, extra)


def _averages(
    A: np.ndarray, b: np.ndarray, s_all: np.ndarray, s_tail: np.ndarray, t: int, tail_from: int
) -> dict[str, Any]:
    """Polyak (all ``t`` iterates) and tail (iterates after ``tail_from``) averages from running sums."""
    w_pol = s_all / t
    n_tail = t - tail_from
    w_tail = s_tail / n_tail if n_tail > 0 else np.full_like(s_all, np.nan)
    return {
        "w_polyak": w_pol,
        "w_tail": w_tail,
        "loss_polyak": mse(A, b, w_pol),
        "loss_tail": mse(A, b, w_tail),
        "tail_from_step": tail_from + 1,
    }


def keras_lr_to_sklearn_eta0(lr: float) -> float:
    """``eta0`` of ``SGDRegressor(loss="squared_error")`` matching Keras SGD with learning rate ``lr`` and
    ``batch_size=1`` on the MSE: sklearn minimises ``(1/2)(x'w - y)**2`` per sample (step
    ``eta0 * (x'w - y) x``), Keras ``(x'w - y)**2`` (step ``lr * 2 (x'w - y) x``), so ``eta0 = 2 * lr``."""
    return 2.0 * check_eta(lr, "lr")


def sklearn_sgd(
    A_features: np.ndarray,
    b: np.ndarray,
    *,
    intercept: bool,
    eta0: float,
    epochs: int,
    rng_seed: int,
    average: bool = True,
    max_logged: int = 2000,
) -> SolverTrace:
    """scikit-learn's ``SGDRegressor`` (plain per-sample SGD, optionally averaged), logged per epoch.

    Shapes: ``A_features`` (n, p) WITHOUT the ones column, ``b`` (n,); the trace's parameters are in reglab
    order ``(features..., intercept)`` on ``design_matrix(A_features, intercept)``.  The estimator is
    ``SGDRegressor(loss="squared_error", penalty=None, learning_rate="constant", eta0=eta0,
    average=average, tol=None, shuffle=True, fit_intercept=intercept)`` trained with one ``partial_fit`` (one
    epoch) per epoch.  Its per-sample loss is ``(1/2)(x'w - y)**2``, so ``eta0`` is twice the Keras learning
    rate of a batch-size-1 run (:func:`keras_lr_to_sklearn_eta0`); the intercept gets the same step.

    Randomness: ``random_state = numpy.random.RandomState(rng_seed)`` (an *instance*): each ``partial_fit``
    draws fresh shuffling seeds from it, so every epoch gets a new random order.  (An int ``random_state``
    would re-seed each ``partial_fit`` and repeat one permutation every epoch.)  The first epoch is exactly
    ``SGDRegressor(..., max_iter=1, random_state=rng_seed).fit``; later epochs are an equally valid but
    different draw from ``fit(max_iter=epochs)``, which shuffles inside one compiled call and cannot expose
    per-epoch iterates.  Averaging (``average=True``) runs over all updates since the first, across
    ``partial_fit`` calls; ``w_final``/``weights`` are then the averaged coefficients (what ``predict`` uses)
    and ``extra["w_last_iterate"]`` the plain last SGD iterate.
    """
    from sklearn.linear_model import SGDRegressor

    if not isinstance(intercept, (bool, np.bool_)):
        raise ValueError(f"intercept must be a bool; got {intercept!r}")
    X = np.asarray(A_features, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"A_features must be a 2-D array (n, p) of features without the ones column; got shape {X.shape}"
        )
    if not np.isfinite(X).all():
        raise ValueError("A_features must be finite")
    X = np.ascontiguousarray(X)
    ba = check_vec(b, X.shape[0], "b")
    e = check_eta(eta0, "eta0")
    E = _check_pos_int(epochs, "epochs")
    if isinstance(rng_seed, bool) or not isinstance(rng_seed, (int, np.integer)) or not 0 <= rng_seed < 2**32:
        raise ValueError(f"rng_seed must be an integer in [0, 2**32); got {rng_seed!r}")
    D = design_matrix(X, bool(intercept))
    p = D.shape[1]
    est = SGDRegressor(
        loss="squared_error",
        penalty=None,
        learning_rate="constant",
        eta0=e,
        average=bool(average),
        max_iter=E,
        tol=None,
        shuffle=True,
        random_state=np.random.RandomState(int(rng_seed)),
        fit_intercept=bool(intercept),
    )

    def params(coef: np.ndarray, icpt: np.ndarray) -> np.ndarray:
        c = np.asarray(coef, dtype=np.float64).ravel()
        return np.concatenate([c, np.asarray(icpt, dtype=np.float64).ravel()[:1]]) if intercept else c

    extra: dict[str, Any] = {
        "loss_initial": mse(D, ba, np.zeros(p)),
        "step_unit": "epoch",
        "eta0": e,
        "keras_lr_batch1_equivalent": e / 2.0,
        "average": bool(average),
    }
    rec = _Recorder(D, ba, log_steps(E, max_logged))
    w = np.zeros(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # overflow in a diverging run
        for epoch in range(1, E + 1):
            est.partial_fit(X, ba)
            w = params(est.coef_, est.intercept_)
            if epoch == rec.next and not rec.record(epoch, w):
                break
    if average and hasattr(est, "_standard_coef"):
        extra["w_last_iterate"] = params(est._standard_coef, getattr(est, "_standard_intercept", np.zeros(1)))
    extra["t_"] = float(getattr(est, "t_", math.nan))
    return rec.finish("sklearn_sgd", w, extra)


# ----------------------------------------------------------------------------------------------
# the FuelConsumption article's algorithms (seed 004)
# ----------------------------------------------------------------------------------------------


def article_gd(
    A: np.ndarray, b: np.ndarray, w0: np.ndarray, eta: float, steps: int, *, max_logged: int = 2000
) -> SolverTrace:
    """The article's gradient descent on the SUM of squares ``||A w - b||**2``, exactly as printed:
    ``w <- w - eta * (2 A'A w - 2 A'b)`` (the article's ``X = A'`` is (p, n), features as rows, ones row
    last).

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,).  ``A'A`` and ``A'b`` are computed once (``O(p^2)`` per
    step; the factor 2 is applied as in the formula, an exact scaling).  Note the step is ``n/2`` times
    larger than Keras' for the same ``eta`` (sum vs mean); it is stable for ``eta < 1 / s_max(A)**2``.
    The logged loss is still the MSE (mean), for comparability.
    """
    Aa, ba, w = check_Abw(A, b, w0)
    e = check_eta(eta)
    T = _check_pos_int(steps, "steps", 0)
    extra: dict[str, Any] = {
        "loss_initial": mse(Aa, ba, w),
        "step_unit": "step",
        "eta": e,
        "objective": "sum of squares",
    }
    rec = _Recorder(Aa, ba, log_steps(T, max_logged))
    G = Aa.T @ Aa
    c2 = 2.0 * (Aa.T @ ba)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, T + 1):
            w = w - e * (2.0 * (G @ w) - c2)
            if t == rec.next and not rec.record(t, w):
                break
    return rec.finish("article_gd", w, extra)


def _floyd_batches(rng: np.random.Generator, n: int, k: int, m: int) -> np.ndarray:
    """(m, k) rows, each a uniform random k-subset of range(n) (no repeats within a row), by Robert Floyd's
    algorithm vectorised over rows: for j = n-k .. n-1 draw t uniform in [0, j]; take t unless the row
    already holds it, else take j.  Costs k integer draws and O(k^2) comparisons per row."""
    S = np.empty((m, k), dtype=np.int64)
    for i, j in enumerate(range(n - k, n)):
        t = rng.integers(0, j + 1, size=m)
        if i:
            t = np.where((S[:, :i] == t[:, None]).any(axis=1), j, t)
        S[:, i] = t
    return S


def _fisher_yates_batches(rng: np.random.Generator, n: int, k: int, m: int) -> np.ndarray:
    """(m, k) uniform random k-subsets of range(n) by a partial Fisher-Yates shuffle of ``arange(n)`` in every
    row, vectorised over rows: ``j = min(k, n - k)`` swaps of position ``i`` with a uniform position in
    ``[i, n)``.  The first ``j`` entries are then a uniform random j-subset and the rest its complement, so
    the batch is the first k entries when ``k <= n - k`` and the last k otherwise.  O(n) memory per row
    (int32), O(j) draws."""
    j = min(k, n - k)
    P = np.empty((m, n), dtype=np.int32)
    P[:] = np.arange(n, dtype=np.int32)
    rows = np.arange(m)
    for i in range(j):
        r = rng.integers(i, n, size=m)
        held = P[:, i].copy()
        P[:, i] = P[rows, r]
        P[rows, r] = held
    return (P[:, :k] if k <= n - k else P[:, j:]).astype(np.int64)


def _partition_batches(rng: np.random.Generator, n: int, k: int, m: int) -> np.ndarray:
    """(m, k) uniform random k-subsets of range(n): the positions of the k smallest of n i.i.d. uniform keys
    per row (``argpartition``; ties have probability ~0).  O(n) per row regardless of k."""
    keys = rng.random((m, n))
    return np.argpartition(keys, k - 1, axis=1)[:, :k]


def _batch_sampler(n: int, k: int) -> str:
    """Cheapest exact sampler (measured at n = 1067: Floyd ~0.3 us/step at k = 10, Fisher-Yates ~1-3 us at
    k = 32..100, argpartition ~10 us for mid-range k)."""
    if k == n:
        return "all rows"
    if 2 * k * k <= n:
        return "floyd"
    if 5 * min(k, n - k) <= n:
        return "fisher-yates"
    return "argpartition"


def article_sgd(
    A: np.ndarray,
    b: np.ndarray,
    w0: np.ndarray,
    eta: float,
    batch_size: int,
    steps: int,
    rng: np.random.Generator,
    *,
    record_batches: bool = False,
    max_logged: int = 2000,
) -> SolverTrace:
    """The article's minibatch SGD on the SUM of squares: at each step ``batch_size`` rows are chosen
    uniformly WITHOUT replacement (as ``rng.choice(n, k, replace=False)``, independently across steps) and
    ``w <- w - eta * (2 A_B'A_B w - 2 A_B'b_B)``.

    Shapes: ``A`` (n, p), ``b`` (n,), ``w0`` (p,).  Speed: ``rng.choice`` per step costs ~10-20 us, so the
    batches are drawn for a chunk of steps at once, vectorised across steps, by one of three exact samplers
    (``extra["sampler"]``): Floyd's algorithm when ``2 k^2 <= n`` (k integer draws per step), a partial
    Fisher-Yates shuffle when ``min(k, n - k) <= n / 5``, otherwise ``argpartition`` of n uniform keys per
    step.  Each gives exactly uniform k-subsets, independent across steps -- the distribution of
    ``rng.choice(n, k, replace=False)``, though a different stream of draws.  ``k == n`` uses every row each
    step and draws nothing.  The batch Gram matrices ``A_B'A_B`` and ``2 A_B'b_B`` are formed per chunk by
    batched matmul; the sequential update is then ``O(p^2)`` per step.

    ``extra``: ``"w_polyak"`` / ``"loss_polyak"`` -- mean of the post-update iterates ``w_1 .. w_T`` (what the
    article's text calls the final SGD estimate; its code prints the last iterate, ``w_final``) -- and the
    second-half average ``"w_tail"`` / ``"loss_tail"``; ``"batches"`` (T, k) when ``record_batches``.
    """
    Aa, ba, w = check_Abw(A, b, w0)
    e = check_eta(eta)
    n, p = Aa.shape
    k = _check_pos_int(batch_size, "batch_size")
    if k > n:
        raise ValueError(
            f"batch_size = {k} exceeds the number of rows n = {n} (rows are drawn without replacement)"
        )
    T = _check_pos_int(steps, "steps", 0)
    g = _check_rng(rng)
    sampler = _batch_sampler(n, k)
    extra: dict[str, Any] = {
        "loss_initial": mse(Aa, ba, w),
        "step_unit": "step",
        "eta": e,
        "batch_size": k,
        "objective": "sum of squares",
        "sampler": sampler,
    }
    rec = _Recorder(Aa, ba, log_steps(T, max_logged))
    chunk = max(1, min(T, _CHUNK_ELEMS // (k if sampler == "floyd" else n), _CHUNK_ELEMS // max(1, k * p)))
    draw = {
        "floyd": _floyd_batches,
        "fisher-yates": _fisher_yates_batches,
        "argpartition": _partition_batches,
    }
    batches: list[np.ndarray] = []
    s_all = np.zeros(p)
    s_tail = np.zeros(p)
    tail_from = T // 2
    t = 0
    stop = False
    if k == n:
        G_full = Aa.T @ Aa
        c2_full = 2.0 * (Aa.T @ ba)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, T, chunk):
            m = min(chunk, T - start)
            if k == n:
                idx = np.broadcast_to(np.arange(n), (m, n))
                Gs = np.broadcast_to(G_full, (m, p, p))
                c2s = np.broadcast_to(c2_full, (m, p))
            else:
                idx = draw[sampler](g, n, k, m)
                Ab = Aa[idx]  # (m, k, p)
                AbT = Ab.transpose(0, 2, 1)
                Gs = np.matmul(AbT, Ab)  # (m, p, p) batch Gram matrices A_B'A_B
                c2s = 2.0 * np.matmul(AbT, ba[idx][:, :, None])[:, :, 0]  # (m, p) 2 A_B'b_B
            if record_batches:
                batches.append(np.array(idx))
            for i in range(m):
                w = w - e * (2.0 * (Gs[i] @ w) - c2s[i])
                s_all += w
                if t >= tail_from:
                    s_tail += w
                t += 1
                if t == rec.next and not rec.record(t, w):
                    stop = True
                    break
            if stop:
                break
    extra["steps_done"] = t
    if t:
        extra.update(_averages(Aa, ba, s_all, s_tail, t, tail_from))
    if record_batches:
        extra["batches"] = (
            np.concatenate(batches, axis=0)[:t] if batches else np.empty((0, k), dtype=np.int64)
        )
    return rec.finish("article_sgd", w, extra)
