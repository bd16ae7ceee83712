"""Exact least squares over designs streamed from disk: a mergeable Gram statistic and a two-pass solver.

Design (one robust path, chosen for speed first and accuracy where it is at risk):

**Pass 1: a shifted Gram.** :class:`GramStat` holds, for the augmented matrix ``Z = [X - a, 1, y - b]``,
the count ``n``, the shift ``(a, b)`` (the means of the first chunk's first :data:`SHIFT_ROWS` rows: close
enough to the means that the cancellation it prevents costs nothing, so features with means of 1e4 keep
their digits) and the float64 Gram ``ZᵀZ`` accumulated per chunk with BLAS. Because the ones column is
part of ``Z``, changing the shift is the exact linear map ``G ↦ TᵀGT`` (:meth:`GramStat.reshift`), so two
statistics with different shifts merge exactly (the Chan–Golub–LeVeque correction written as a matrix).
The single-process driver *is* "one statistic per part, merged in order": shard jobs that save
:meth:`GramStat.to_dict` and a merge job that combines them in the same order give the same bits.
A chunk's Gram is the ordered sum of :data:`ROW_BLOCK`-row block products, each one single-threaded
BLAS call, so the first pass runs on any number of threads (:class:`_Pass`: threads read chunks —
several row groups at once from Parquet — into two reused buffers, the reader subtracting the shift
as it copies, and compute block Grams in between) with the same bits. Measured at 1e6 × 100 with the
file in page cache on 2 cores: 0.35–0.36 s, against 0.22 s for one in-memory ``X.T @ X`` (1.61–1.66×),
peak 265–267 MB; one thread reading and BLAS computing in turn took 0.81 s. The small solves run on one
BLAS thread too (:func:`one_blas_thread`): on two, OpenBLAS's spinning worker took a core from the
next pass (0.40 s instead of 0.34).

:func:`solve` centres exactly (``C = G_zz − s sᵀ/n`` with the small shifted sums ``s``), drops constant
columns (zero centred variance: absorbed by the intercept), scales to unit column norms and factors the
correlation-like matrix ``S`` by Cholesky. The scaled normal matrix's condition ``κ(S)`` (exact
``eigvalsh`` of the small matrix, and LAPACK ``dpocon``'s estimate) says how many digits are left:
about ``16 − log10 κ(S)``.

**Pass 2 when digits are at risk: TSQR.** When ``κ(S) > threshold`` (1e8 by default, i.e. the scaled
design's condition above 1e4), Cholesky fails or the Gram looks rank-deficient, :func:`solve_stream`
reads the data again and accumulates the R factor of ``[1, (X − μ)/d, (y − μ_y)/d_y]`` (centres and scales
from pass 1): Householder QR (LAPACK ``dgeqrf`` in place) of every :data:`R_BLOCK`-row block, on the
pass's threads, each block's R merged in order into the running R by a QR of the two stacked
(:class:`RStat`; mergeable the same way). Measured at 1e6 × 100 on 2 cores: 1.2 s, against 4.7 s for one
thread stacking the running R on whole 1e5-row chunks. Dropping the ones row and column of R leaves
the R factor of the *exactly* centred design, so the intercept costs no digits. Coefficients come from a
triangular solve (or, rank-deficient, a truncated SVD of the small R: the minimum-norm solution in the
original units), RSS is ``R_yy²`` (no cancellation), the rank from R's singular values with numpy
``lstsq``'s tolerance ``eps · max(n, k)``. This is backward stable like in-memory Householder QR, so the
accuracy is that of ``numpy.linalg.lstsq`` on the centred design. Iterative refinement on the normal
equations was not chosen: it stops converging once ``κ(S)`` nears 1/eps, exactly where it is needed.

Nothing here imports TensorFlow; only numpy and scipy.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg as sla
from scipy.linalg import lapack
from threadpoolctl import ThreadpoolController

from reglab.data.chunks import Buffers, Chunk, IndexedSource, Part
from reglab.linalg.lsq import inference
from reglab.linalg.lsq import rank as rank_rule
from reglab.linalg.lsq.design import feature_names
from reglab.linalg.lsq.digits import apriori as _digits

__all__ = [
    "R_BLOCK",
    "ROW_BLOCK",
    "GramStat",
    "RStat",
    "accumulate",
    "accumulate_part",
    "accumulate_r",
    "accumulate_r_part",
    "merge_in_order",
    "one_blas_thread",
    "solve",
    "solve_stream",
    "source_parts",
    "usable_cores",
]

EPS = float(np.finfo(float).eps)
#: rows per block of a chunk's Gram. A chunk's ``ZᵀZ`` is the sum, in block order, of its blocks' (one BLAS
#: call on one thread each), so the bits are the same whichever threads computed the blocks, and how many.
ROW_BLOCK = 25_000
#: rows per block of the second pass's TSQR (a Householder QR of 4,096 × 103, 3.4 MB, stays in cache)
R_BLOCK = 4096
#: rows of the first chunk whose means are the shift (a mean of 1,024 rows is within about σ/32 of the
#: whole data's: the centring then loses under 0.001 digits, and costs 0.1 ms instead of a 13 ms pass)
SHIFT_ROWS = 1024


def _as_chunk(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"chunk shapes X {X.shape} and y {y.shape} do not match")
    return X, y


# --------------------------------------------------------------------------------------------- pass 1


def _addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _own_z(X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """The chunk's ``(m, p + 2)`` Fortran buffer ``[X, spare, y]`` when ``X`` and ``y`` are views of one laid
    out so (as :func:`reglab.data.large.iter_chunks` yields them), else ``None``."""
    m, p = X.shape
    col = 8 * m
    if (
        m > 1
        and X.dtype == np.float64
        and y.dtype == np.float64
        and X.base is not None
        and y.base is X.base
        and X.strides == (8, col)
        and y.strides == (8,)
        and _addr(y) == _addr(X) + (p + 1) * col
    ):
        return np.lib.stride_tricks.as_strided(X, shape=(m, p + 2), strides=(8, col), writeable=True)
    return None


def _block_gram(
    X: np.ndarray, y: np.ndarray, a: int, b: int, shift: np.ndarray | None, z: np.ndarray | None
) -> np.ndarray:
    """``ZᵀZ`` of rows ``a:b``, ``Z = [X − shift_x, 1, y − shift_y]`` formed in ``z[a:b]`` (the chunk's own
    buffer, overwritten; ``shift=None``: its values are shifted already, by the reader) or, with
    ``z=None``, in a fresh block; the same values and product on every path."""
    p = X.shape[1]
    if z is None:
        blk = np.empty((b - a, p + 2), order="F")
        np.subtract(X[a:b], shift[:p], out=blk[:, :p])
        np.subtract(y[a:b], shift[p], out=blk[:, p + 1])
    else:
        blk = z[a:b]
        if shift is not None:
            blk[:, :p] -= shift[:p]
            blk[:, p + 1] -= shift[p]
    blk[:, p] = 1.0
    return blk.T @ blk


def _sum_in_order(grams: Iterable[np.ndarray]) -> np.ndarray:
    it = iter(grams)
    total = next(it).copy()
    for g in it:
        total += g
    return total


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # scans the loaded libraries once (0.75 ms per threadpool_limits otherwise)


def one_blas_thread() -> Any:
    """A context in which BLAS and LAPACK run on the calling thread only: the passes' blocks (one BLAS call
    per thread each) and the small solves (a 102 × 102 factorisation took 9–134 ms on two BLAS threads
    here, 3 ms on one)."""
    return _blas().limit(limits=1, user_api="blas")


def gram_yardstick(d: int, *, threads: int, rows: int = 20_000, repeat: int = 5) -> dict[str, float]:
    """The machine's rate for the work a streamed solve must do: the best of ``repeat`` in-memory
    ``B.T @ B`` products (numpy dispatches them to BLAS SYRK/GEMM) of a ``rows × d`` float64 block, on
    ``threads`` BLAS threads. ``flops_per_s`` counts ``rows·d²`` per product (the issue's n·d²
    convention: one SYRK pass over a whole design costs n·d² of it), so ``n·d² / flops_per_s`` is the
    floor for an exact solve of an ``n × d`` design. A block of 20,000 rows (16 MB at d = 100) is past
    the caches and within the job's memory budget; the values do not matter to BLAS, so no random draw."""
    block = np.ones((int(rows), int(d)))
    best = math.inf
    with _blas().limit(limits=max(1, int(threads)), user_api="blas"):
        for _ in range(int(repeat)):
            t0 = time.perf_counter()
            block.T @ block
            best = min(best, time.perf_counter() - t0)
    return {
        "rows": int(rows),
        "d": int(d),
        "threads": int(threads),
        "seconds": best,
        "flops_per_s": rows * d * d / best,
    }


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask, which SLURM and taskset narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class GramStat:
    """Mergeable ``(n, shift, ZᵀZ)`` of ``Z = [X − shift_x, 1, y − shift_y]``; Gram columns are
    ``x1..xp, ones, y`` (``(p+2) × (p+2)``); ``shift`` is ``(p+1,)``: the x shifts, then y's."""

    n: int = 0
    shift: np.ndarray | None = None
    gram: np.ndarray | None = None
    chunks: int = 0
    features: list[str] | None = None

    @property
    def p(self) -> int:
        return -1 if self.gram is None else self.gram.shape[0] - 2

    def _init(self, X: np.ndarray, y: np.ndarray) -> None:
        p = X.shape[1]
        self.shift = np.concatenate([X[:SHIFT_ROWS].mean(axis=0), [y[:SHIFT_ROWS].mean()]])
        self.gram = np.zeros((p + 2, p + 2))

    def blocks(
        self, X: np.ndarray, y: np.ndarray, *, overwrite: bool = False, shifted: bool = False
    ) -> list[Callable[[], np.ndarray]]:
        """The chunk's Gram as tasks, one per :data:`ROW_BLOCK` rows, whose results :meth:`fold` sums in
        order: every path forms the same ``Z`` and the same products, so equal chunks give equal bits
        (``overwrite``: the chunk is the caller's to spend; when it comes from
        :func:`reglab.data.large.iter_chunks`, ``Z`` is formed in its buffer without a copy; ``shifted``:
        its values are ``X − shift``, ``y − shift_y`` already, as a :class:`reglab.data.large.BufferPool`
        with this ``offset`` reads them). The first chunk fixes the shift (the means of its first
        :data:`SHIFT_ROWS` rows)."""
        X, y = _as_chunk(X, y)
        if self.gram is None:
            if shifted:
                raise ValueError("the first chunk fixes the shift: it cannot be shifted already")
            self._init(X, y)
        elif X.shape[1] != self.p:
            raise ValueError(f"chunk has {X.shape[1]} features, the statistic {self.p}")
        z = _own_z(X, y) if overwrite else None
        m, shift = X.shape[0], None if shifted else self.shift
        if shifted and z is None:  # e.g. a one-row chunk, whose buffer has no usable layout: copy it,
            shift = np.zeros_like(self.shift)  # subtracting zero (exact: the same values and bits)
        return [
            lambda a=a: _block_gram(X, y, a, min(a + ROW_BLOCK, m), shift, z) for a in range(0, m, ROW_BLOCK)
        ]

    @property
    def fixed(self) -> bool:
        """Whether the shift is fixed, so chunks can become blocks in any order (see :class:`_Pass`)."""
        return self.shift is not None

    @property
    def offset(self) -> np.ndarray | None:
        """What a reader may subtract while copying a chunk in (:class:`reglab.data.large.BufferPool`)."""
        return self.shift

    def fold(self, results: Sequence[np.ndarray], rows: int) -> GramStat:
        """Add a chunk's block Grams, summed in order (in place; returns self)."""
        return self.add(_sum_in_order(results), rows)

    def add(self, gram: np.ndarray, rows: int) -> GramStat:
        """Add a chunk's ``ZᵀZ`` (in place; returns self)."""
        self.gram += gram
        self.n += rows
        self.chunks += 1
        return self

    def update(self, X: np.ndarray, y: np.ndarray, *, overwrite: bool = False) -> GramStat:
        """Add one chunk (in place; returns self). The first chunk fixes the shift (the means of its first
        :data:`SHIFT_ROWS` rows)."""
        X, y = _as_chunk(X, y)
        if X.shape[0] == 0:
            return self
        return self.fold([task() for task in self.blocks(X, y, overwrite=overwrite)], X.shape[0])

    def reshift(self, shift: np.ndarray) -> GramStat:
        """The same statistic at another shift, exactly: ``[Z − a, 1] = [Z − b, 1] T`` so
        ``G_a = Tᵀ G_b T``."""
        shift = np.asarray(shift, dtype=float)
        if self.gram is None or np.array_equal(shift, self.shift):
            return GramStat(
                self.n,
                None if self.shift is None else self.shift.copy(),
                None if self.gram is None else self.gram.copy(),
                self.chunks,
                self.features,
            )
        p = self.p
        delta = np.zeros(p + 2)
        delta[:p] = self.shift[:p] - shift[:p]
        delta[p + 1] = self.shift[p] - shift[p]
        g = self.gram
        srow = g[p]  # sums of the shifted columns; srow[p] = n
        # TᵀGT with T = I + e_ones δᵀ: G + δ sᵀ + s δᵀ + n δ δᵀ (s the ones row of G)
        new = g + np.outer(delta, srow) + np.outer(srow, delta) + g[p, p] * np.outer(delta, delta)
        return GramStat(self.n, shift.copy(), new, self.chunks, self.features)

    def merge(self, other: GramStat) -> GramStat:
        """A new statistic for the rows of both (``self``'s shift is kept; ``other`` is re-shifted to it)."""
        if other.gram is None:
            return self.reshift(self.shift) if self.gram is not None else GramStat(features=self.features)
        if self.gram is None:
            return other.reshift(other.shift)
        if other.p != self.p:
            raise ValueError(f"cannot merge statistics of {self.p} and {other.p} features")
        o = other if np.array_equal(other.shift, self.shift) else other.reshift(self.shift)
        return GramStat(
            self.n + other.n,
            self.shift.copy(),
            self.gram + o.gram,
            self.chunks + other.chunks,
            self.features or other.features,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (floats round-trip exactly through ``json``); ``np.savez(**d)`` works too."""
        return {
            "kind": "reglab.GramStat",
            "n": int(self.n),
            "chunks": int(self.chunks),
            "features": self.features,
            "shift": None if self.shift is None else self.shift.tolist(),
            "gram": None if self.gram is None else self.gram.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GramStat:
        def arr(v):
            return (
                None if v is None or (isinstance(v, np.ndarray) and v.dtype == object) else np.array(v, float)
            )

        feats = d.get("features")
        if isinstance(feats, np.ndarray):
            feats = None if feats.dtype == object else [str(f) for f in feats]
        return cls(int(d["n"]), arr(d["shift"]), arr(d["gram"]), int(d.get("chunks", 0)), feats)


_END = object()


class _Pass:
    """A pass over the chunks on ``threads`` threads (this one among them), for a statistic with
    ``blocks``, ``fold``, ``fixed`` and ``offset`` (:class:`GramStat`, :class:`RStat`). Each thread takes
    the next task: reading a chunk into a free buffer while fewer than ``min(2, threads)`` chunks are in
    flight, else one block of a chunk already read (a :data:`ROW_BLOCK` Gram, an :data:`R_BLOCK` R). A source
    that reads by index (:class:`reglab.data.large.RowGroups`) is read by several threads at once; an iterator
    by one at a time. Chunks are folded into the statistic in order, each from its blocks in order, so the
    bits do not depend on ``threads``; until the statistic is ``fixed`` (a Gram's shift comes from the first
    non-empty chunk) chunks become blocks in chunk order. On an error no new chunk is started, the chunks
    before it are finished, and the first error in chunk order is raised (the one a serial pass meets
    first)."""

    def __init__(
        self,
        stat: GramStat | RStat,
        source: IndexedSource | Iterable[Chunk],
        *,
        threads: int,
        overwrite: bool,
        pool: Buffers | None,
    ) -> None:
        self.stat, self.overwrite, self.pool, self.threads = stat, overwrite, pool, threads
        self.indexed = isinstance(source, IndexedSource)
        self.source = source if self.indexed else iter(source)
        self.total = len(source) if self.indexed else None
        self.buffers = min(2, threads)
        self.cond = threading.Condition()
        self.claimed = 0  # chunks claimed for reading, in order
        self.exhausted = self.indexed and self.total == 0  # every chunk claimed
        self.reading = 0
        self.busy = 0
        self.in_flight = 0  # chunks holding a buffer
        self.tasks: deque = deque()
        self.read: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}  # read, not yet in blocks
        self.next_blocked = 0  # chunks before this one are in blocks (or empty)
        self.records: dict[int, list] = {}  # k -> [X, rows, results, blocks left]
        self.folded = 0
        self.errors: dict[int, BaseException] = {}
        if pool is not None:
            pool.offset = None  # nothing is subtracted while reading before this statistic says what

    # --- under self.cond
    def _claim(self) -> int | None:
        if (
            self.exhausted
            or self.errors
            or self.in_flight >= self.buffers
            or (not self.indexed and self.reading)
        ):
            return None
        k = self.claimed
        self.claimed += 1
        self.exhausted = self.indexed and self.claimed == self.total
        self.in_flight += 1
        self.reading += 1
        return k

    def _arrived(self, k: int, chunk: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.read[k] = chunk
        # blocks in chunk order until the shift is fixed (by the first non-empty chunk), then as they come
        while self.next_blocked in self.read or (self.stat.fixed and self.read):
            j = self.next_blocked if self.next_blocked in self.read else min(self.read)
            self._to_blocks(j, self.read.pop(j))
            self.next_blocked = max(self.next_blocked, j + 1)

    def _to_blocks(self, k: int, chunk: tuple[np.ndarray, np.ndarray] | None) -> None:
        if chunk is None or self.errors:
            self.records[k] = [None, 0, [], 0]
            self._spent(k, chunk[0] if chunk is not None else None)
            return
        X, y = chunk
        pool, stat = self.pool, self.stat
        shifted = pool is not None and stat.offset is not None and pool.offset_of(X) is stat.offset
        tasks = stat.blocks(X, y, overwrite=self.overwrite, shifted=shifted)
        if pool is not None and self.overwrite:
            pool.offset = stat.offset  # later chunks are shifted as they are read
        self.records[k] = [X, X.shape[0], [None] * len(tasks), len(tasks)]
        self.tasks.extend((k, b, fn) for b, fn in enumerate(tasks))

    def _spent(self, k: int, X: np.ndarray | None) -> None:
        self.in_flight -= 1
        if X is not None and self.pool is not None:
            self.pool.give(X)
        self.records[k][0] = None
        while self.folded in self.records and self.records[self.folded][3] == 0:
            _, rows, results, _ = self.records.pop(self.folded)
            if rows and not self.errors:
                self.stat.fold(results, rows)
            self.folded += 1

    def _next(self) -> tuple | None:
        while True:
            k = self._claim()
            if k is not None:
                return ("read", k)
            if self.tasks and not self.errors:
                return ("block", *self.tasks.popleft())
            if self.busy == 0 and (self.errors or (self.exhausted and not self.tasks)):
                return None
            self.cond.wait()

    # --- outside the lock
    def _read(self, k: int) -> tuple[np.ndarray, np.ndarray] | None | object:
        """Chunk ``k`` (``None`` when it is empty; ``_END`` after an iterator's last)."""
        if self.indexed:
            X, y, *_ = self.source.read(k, self.pool)
        else:
            try:
                X, y, *_ = next(self.source)
            except StopIteration:
                return _END
        X, y = _as_chunk(X, y)
        return (X, y) if X.shape[0] else None

    def work(self) -> None:
        while True:
            with self.cond:
                task = self._next()
                if task is None:
                    self.cond.notify_all()
                    return
                self.busy += 1
            try:
                result = self._read(task[1]) if task[0] == "read" else task[3]()
                error = None
            except BaseException as exc:  # noqa: BLE001 - raised in the caller, in chunk order
                result, error = None, exc
            with self.cond:
                self.busy -= 1
                k = task[1]
                try:
                    self._done(task, result, error)
                except BaseException as exc:  # noqa: BLE001 - a failure here stops the pass; never strands
                    self.errors.setdefault(k, exc)  # the other threads waiting on this condition
                finally:
                    self.cond.notify_all()

    def _done(self, task: tuple, result: Any, error: BaseException | None) -> None:
        """Book a finished task (under self.cond)."""
        k = task[1]
        if error is not None:
            self.errors[k] = error
            if task[0] == "read":
                self.reading -= 1
                self.in_flight -= 1
        elif task[0] == "read":
            self.reading -= 1
            if result is _END:
                self.exhausted = True
                self.in_flight -= 1
            else:
                self._arrived(k, result)
        else:
            rec = self.records[k]
            rec[2][task[2]] = result
            rec[3] -= 1
            if rec[3] == 0:
                self._spent(k, rec[0])

    def run(self) -> Any:
        helpers = [
            threading.Thread(target=self.work, name=f"reglab-pass-{i}", daemon=True)
            for i in range(self.threads - 1)
        ]
        for t in helpers:
            t.start()
        try:
            self.work()
        except BaseException as exc:  # e.g. KeyboardInterrupt while waiting: stop the helpers too
            with self.cond:
                self.errors.setdefault(-1, exc)
                self.cond.notify_all()
            raise
        finally:
            for t in helpers:
                t.join()
        if self.errors:
            raise self.errors[min(self.errors)]
        return self.stat


def accumulate(
    chunks: Iterable[Chunk] | IndexedSource,
    *,
    features: list[str] | None = None,
    overwrite: bool = False,
    threads: int | None = None,
    pool: Buffers | None = None,
) -> GramStat:
    """One :class:`GramStat` over an iterable of ``(X, y, first_row)`` chunks, or over a source that reads
    chunk ``k`` by ``read(k, pool)`` (:class:`reglab.data.large.RowGroups`).

    ``overwrite``: the chunks are the caller's to spend, and are shifted in place instead of copied.
    ``threads`` (default :func:`usable_cores`): the threads that read chunks and compute their block
    Grams (one BLAS thread each), reading overlapping computing, with at most two chunks in memory
    (:class:`_Pass`); the bits do not depend on ``threads``. ``pool``: the
    :class:`reglab.data.large.BufferPool` the chunks are read into (with ``overwrite``): each spent chunk
    goes back to it, and once the shift is fixed the pool subtracts it while reading."""
    stat = GramStat(features=features)
    threads = usable_cores() if threads is None else max(1, int(threads))
    with one_blas_thread():
        return _Pass(stat, chunks, threads=threads, overwrite=overwrite, pool=pool).run()


def accumulate_part(
    part: Part,
    *,
    features: list[str] | None = None,
    threads: int | None = None,
    pool: Buffers | None = None,
) -> GramStat:
    """:func:`accumulate` over one part; a part that owns its chunks (``owned_chunks``, as
    :func:`source_parts` makes) reads them into two reused buffers (``pool``, a new
    :class:`reglab.data.large.BufferPool` by default) and is shifted while it is read."""
    source, pool = _part_source(part, pool)
    return accumulate(source, features=features, overwrite=pool is not None, threads=threads, pool=pool)


def _part_source(part: Part, pool: Buffers | None) -> tuple[IndexedSource | Iterable[Chunk], Buffers | None]:
    """What a pass reads a part from (its by-index reader where it has one) and the pool, ``None`` for a
    part that does not own its chunks."""
    if not getattr(part, "owned_chunks", False):
        return part(), None
    if pool is None:
        from reglab.data.large import BufferPool

        pool = BufferPool()
    indexed = getattr(part, "indexed", None)
    source = indexed() if indexed is not None else None
    return (part(pool=pool) if source is None else source), pool


def merge_in_order(stats: Sequence[Any]) -> Any:
    """Left fold ``((s0 ⊕ s1) ⊕ s2) ⊕ …`` (the fixed order that makes shard merges reproducible)."""
    if not stats:
        raise ValueError("nothing to merge")
    out = stats[0]
    for s in stats[1:]:
        out = out.merge(s)
    return out


# --------------------------------------------------------------------------------------------- pass 2


@dataclass
class RStat:
    """Mergeable R factor (TSQR) of ``[1, (X[:, columns] − center) / scale, (y − center_y) / scale_y]``
    (without the ones column when ``intercept`` is false)."""

    columns: list[int]
    center: np.ndarray  # (k+1,): the used x columns, then y
    scale: np.ndarray  # (k+1,)
    intercept: bool = True
    n: int = 0
    r: np.ndarray | None = None
    chunks: int = 0

    @property
    def q(self) -> int:
        return len(self.columns) + 1 + int(self.intercept)

    #: a fixed transform: chunks can become blocks in any order (see :class:`_Pass`)
    fixed = True
    #: nothing for a reader to subtract while copying (the centre is applied per block)
    offset = None

    def _block_r(self, X: np.ndarray, y: np.ndarray, a: int, b: int, every: bool) -> np.ndarray:
        k, q, o = len(self.columns), self.q, int(self.intercept)
        blk = np.empty((b - a, q), order="F")
        if o:
            blk[:, 0] = 1.0
        np.subtract(X[a:b] if every else X[a:b, self.columns], self.center[:k], out=blk[:, o : o + k])
        blk[:, o : o + k] /= self.scale[:k]
        blk[:, q - 1] = (y[a:b] - self.center[k]) / self.scale[k]
        return self._r_of(blk)

    def blocks(
        self, X: np.ndarray, y: np.ndarray, *, overwrite: bool = False, shifted: bool = False
    ) -> list[Callable[[], np.ndarray]]:
        """The chunk's R factors as tasks, one per :data:`R_BLOCK` rows (Householder QR of an in-cache
        block runs 2.9x faster per row than of a 1e5-row chunk, measured), merged in order by
        :meth:`fold`: the bits do not depend on which threads ran them."""
        if shifted:
            raise ValueError("an RStat chunk is centred per block, not by the reader")
        X, y = _as_chunk(X, y)
        every = self.columns == list(range(X.shape[1]))
        m = X.shape[0]
        return [lambda a=a: self._block_r(X, y, a, min(a + R_BLOCK, m), every) for a in range(0, m, R_BLOCK)]

    def fold(self, results: Sequence[np.ndarray], rows: int) -> RStat:
        """Merge a chunk's block R factors, in order, into the running R (in place; returns self)."""
        for r in results:
            self.r = r if self.r is None else self._r_of(np.asfortranarray(np.vstack([self.r, r])))
        self.n += rows
        self.chunks += 1
        return self

    def update(self, X: np.ndarray, y: np.ndarray) -> RStat:
        """Add one chunk (in place; returns self)."""
        X, y = _as_chunk(X, y)
        if X.shape[0] == 0:
            return self
        return self.fold([task() for task in self.blocks(X, y)], X.shape[0])

    @staticmethod
    def _r_of(a: np.ndarray) -> np.ndarray:
        # LAPACK geqrf in place on the Fortran buffer (scipy.linalg.qr(mode="r") would copy the whole
        # triangle-padded (m, q) array); only the leading q × q upper triangle is kept
        q = a.shape[1]
        if a.shape[0] < q:
            a = np.vstack([a, np.zeros((q - a.shape[0], q))])
            a = np.asfortranarray(a)
        qr, _tau, _work, info = lapack.dgeqrf(a, overwrite_a=1)
        if info != 0:  # pragma: no cover - geqrf only fails on bad arguments
            raise np.linalg.LinAlgError(f"dgeqrf failed (info={info})")
        return np.triu(qr[:q])

    def merge(self, other: RStat) -> RStat:
        if other.r is None:
            return self
        if self.r is None:
            return other
        if (
            self.columns != other.columns
            or not np.array_equal(self.center, other.center)
            or not np.array_equal(self.scale, other.scale)
            or self.intercept != other.intercept
        ):
            raise ValueError("RStat merge needs the same columns, centre and scale (from the same pass 1)")
        r = self._r_of(np.asfortranarray(np.vstack([self.r, other.r])))
        return RStat(
            self.columns,
            self.center,
            self.scale,
            self.intercept,
            self.n + other.n,
            r,
            self.chunks + other.chunks,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "reglab.RStat",
            "columns": list(self.columns),
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
            "intercept": bool(self.intercept),
            "n": int(self.n),
            "chunks": int(self.chunks),
            "r": None if self.r is None else self.r.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RStat:
        return cls(
            [int(c) for c in d["columns"]],
            np.array(d["center"], float),
            np.array(d["scale"], float),
            bool(d["intercept"]),
            int(d["n"]),
            None if d["r"] is None else np.array(d["r"], float),
            int(d.get("chunks", 0)),
        )


def accumulate_r(
    chunks: Iterable[Chunk] | IndexedSource,
    plan: dict[str, Any],
    *,
    threads: int | None = None,
    pool: Buffers | None = None,
) -> RStat:
    """One :class:`RStat` over the chunks (an iterable, or a source read by index as for
    :func:`accumulate`), with the centre and scale of ``plan`` (``solve(...)["plan"]``), on ``threads``
    threads (:class:`_Pass`; the bits do not depend on them)."""
    stat = RStat(
        list(plan["columns"]), np.asarray(plan["center"]), np.asarray(plan["scale"]), bool(plan["intercept"])
    )
    threads = usable_cores() if threads is None else max(1, int(threads))
    with one_blas_thread():
        return _Pass(stat, chunks, threads=threads, overwrite=False, pool=pool).run()


def accumulate_r_part(
    part: Part, plan: dict[str, Any], *, threads: int | None = None, pool: Buffers | None = None
) -> RStat:
    """:func:`accumulate_r` over one part, read as :func:`accumulate_part` reads it."""
    source, pool = _part_source(part, pool)
    return accumulate_r(source, plan, threads=threads, pool=pool)


# --------------------------------------------------------------------------------------------- solve


@dataclass
class _Prepared:
    n: int
    p: int
    intercept: bool
    mu: np.ndarray  # (p+1,) means of x columns then y (zeros without intercept)
    active: list[int]
    constant: list[int]
    d: np.ndarray  # (k,) column norms of the centred active columns
    dy: float
    s: np.ndarray  # (k, k) scaled centred Gram
    b: np.ndarray  # (k,)  scaled Xᵀy
    tss: float
    raw_gram: np.ndarray = field(repr=False, default=None)


def _prepare(stat: GramStat, intercept: bool) -> _Prepared:
    if stat.gram is None or stat.n == 0:
        raise ValueError("empty statistic: no rows were read")
    p, n, g = stat.p, stat.n, stat.gram
    zi = list(range(p)) + [p + 1]
    g0 = stat.reshift(np.zeros(p + 1)).gram  # Gram of the raw [X, 1, y] (for the raw condition number)
    if intercept:
        srow = g[p, zi]
        mu = stat.shift + srow / n
        c = g[np.ix_(zi, zi)] - np.outer(srow, srow) / n
        ref = np.maximum(np.abs(mu), np.abs(stat.shift))
    else:
        mu = np.zeros(p + 1)
        c = g0[np.ix_(zi, zi)]
        ref = np.zeros(p + 1)
    diag = np.diag(c).copy()
    # a column whose centred variance is at rounding level of its mean is constant
    tiny = n * (64.0 * EPS * np.maximum(ref, np.finfo(float).tiny)) ** 2
    const_mask = diag[:p] <= tiny[:p]
    constant = [j for j in range(p) if const_mask[j]]
    active = [j for j in range(p) if not const_mask[j]]
    d = np.sqrt(np.maximum(diag[active], 0.0))
    tss = float(max(diag[p], 0.0))
    dy = math.sqrt(tss) if tss > tiny[p] else 1.0
    s = c[np.ix_(active, active)] / np.outer(d, d)
    b = c[active, p] / (d * dy)
    return _Prepared(n, p, intercept, mu, active, constant, d, dy, s, b, tss, g0)


def _names(stat: GramStat, features: Sequence[str] | None, intercept: bool) -> list[str]:
    """The feature names, checked by the one design rule (:func:`reglab.linalg.lsq.design.feature_names`):
    ``features``, else the statistic's own, else ``x1 … xp``."""
    chosen = features if features is not None else (list(stat.features) if stat.features else None)
    return list(feature_names(chosen, stat.p, intercept))


def _raw_factor(factor: np.ndarray, mu: np.ndarray, d: np.ndarray, intercept: bool) -> np.ndarray:
    """An R factor of ``[1, X]`` (of ``X`` without intercept) from an R factor of ``[1, Xs]`` (``Xs``),
    ``Xs = (X − μ) / d`` the design centred and scaled to unit norms: ``[1, X] = [1, Xs] M`` with
    ``M = [[1, μᵀ], [0, diag(d)]]``, so ``R M`` is an R factor of ``[1, X]``; no Gram, nothing squared."""
    k = len(d)
    if intercept:
        m = np.zeros((k + 1, k + 1))
        m[0, 0], m[0, 1:], m[1:, 1:] = 1.0, mu, np.diag(d)
    else:
        m = np.diag(d)
    return factor @ m


def _raw_condition(factor: np.ndarray, mu: np.ndarray, d: np.ndarray, intercept: bool) -> float:
    """Condition number of ``[1, X]`` (of ``X`` without intercept) from an R factor of ``[1, Xs]``."""
    sv = sla.svdvals(_raw_factor(factor, mu, d, intercept), check_finite=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf


def solve(
    stat: GramStat,
    *,
    intercept: bool = True,
    rstat: RStat | None = None,
    rcond: float | None = None,
    threshold: float = 1e8,
    features: Sequence[str] | None = None,
) -> dict[str, Any]:
    """:func:`_solve` on one BLAS thread (its matrices are ``(d + 2)``-square)."""
    with one_blas_thread():
        return _solve(
            stat, intercept=intercept, rstat=rstat, rcond=rcond, threshold=threshold, features=features
        )


def _solve(
    stat: GramStat,
    *,
    intercept: bool = True,
    rstat: RStat | None = None,
    rcond: float | None = None,
    threshold: float = 1e8,
    features: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Least squares ``y ~ [1,] X`` from a pass-1 :class:`GramStat` (and, when given, the pass-2
    :class:`RStat` built with this result's ``plan``).

    Returns a dict: ``coef`` (slopes in feature order), ``intercept``, ``se``, ``se_intercept``, ``vif``,
    ``r2``, ``rss``, ``sigma2``, ``dof``, ``n``, ``rank``, ``k`` (non-constant columns), ``rank_deficient``,
    ``constant_columns``, ``condition_raw`` (of ``[1, X]``, from the R factor — Cholesky's or TSQR's — and the
    centring, :func:`_raw_condition`; from the Gram's eigenvalues, reliable to ~1e8, only when the factor
    is rank-deficient; infinite with a constant column),
    ``condition_scaled`` (of the centred, unit-norm design), ``condition_normal_scaled`` (``κ(S)``),
    ``condition_pocon`` (LAPACK 1-norm estimate), ``method``, ``passes``, ``correct_digits_estimate``,
    ``correct_digits_slopes`` (relative to the slopes alone; the estimate counts the intercept too),
    ``needs_second_pass``, ``plan`` (centre/scale for :func:`accumulate_r`), ``message`` and ``why``.
    """
    pr = _prepare(stat, intercept)
    names = _names(stat, features, intercept)
    n, p, k = pr.n, pr.p, len(pr.active)
    rtol = rcond if rcond is not None else EPS * max(n, k)
    notes: list[str] = []
    if pr.constant:
        notes.append(
            "constant column(s) "
            + ", ".join(names[j] for j in pr.constant)
            + (
                ": absorbed by the intercept, coefficient 0, no standard error"
                if intercept
                else ": all zero, coefficient 0"
            )
        )
    lam = np.linalg.eigvalsh(pr.s) if k else np.array([1.0])
    lmax = float(lam[-1]) if k else 1.0
    kappa_n = float(lmax / lam[0]) if k and lam[0] > 0 else (1.0 if not k else math.inf)
    # eigenvalues of a Gram carry absolute error ~k·eps·λmax: below that, the Gram cannot see rank
    lam_tol = rank_rule.gram_floor(lmax, n, k, rtol)
    rank_gram = int(np.sum(lam > lam_tol)) if k else 0
    chol, rcond_po = None, math.nan
    if k:
        try:
            chol = sla.cholesky(pr.s, lower=False, check_finite=False)
            rc, info = lapack.dpocon(chol, float(np.abs(pr.s).sum(axis=0).max()))
            rcond_po = float(rc) if info == 0 else math.nan
        except np.linalg.LinAlgError:
            chol = None
    needs2 = bool(k) and (kappa_n > threshold or chol is None or rank_gram < k)
    gram_raw = pr.raw_gram
    ri = list(range(p + (1 if intercept else 0)))  # x columns (+ ones)
    lam_raw = np.linalg.eigvalsh(gram_raw[np.ix_(ri, ri)])
    cond_raw = float(math.sqrt(lam_raw[-1] / lam_raw[0])) if lam_raw[0] > 0 else math.inf
    plan = {
        "columns": pr.active,
        "center": np.concatenate([pr.mu[pr.active], [pr.mu[p]]]).tolist(),
        "scale": np.concatenate([pr.d, [pr.dy]]).tolist(),
        "intercept": intercept,
    }

    beta_s = np.zeros(k)
    # the factor's inference (reglab.linalg.lsq.inference); None while the slopes are not identifiable
    fac: inference.Factor | None = None
    centring = pr.mu[pr.active] / pr.d if intercept else None  # the centring in the scaled columns' units
    sig = np.array([])
    if rstat is not None and k:
        if rstat.columns != pr.active or rstat.intercept != intercept:
            raise ValueError("rstat was not built from this statistic's plan")
        r = rstat.r
        r2m = r[1:, 1:] if intercept else r
        r11, r1y, ryy = r2m[:k, :k], r2m[:k, k], float(r2m[k, k])
        sig = sla.svdvals(r11)
        # the one rank rule (reglab.linalg.lsq.rank) on the R factor of the design [1, X] itself
        raw = _raw_factor(r[: k + 1, : k + 1] if intercept else r[:k, :k], pr.mu[pr.active], pr.d, intercept)
        rank = min(k, max(0, rank_rule.of_triangular(raw, n, rcond).rank - int(intercept)))
        kappa = float(sig[0] / sig[-1]) if sig[-1] > 0 else math.inf
        kappa_n_final = kappa**2
        if rank == k:
            beta_s = sla.solve_triangular(r11, r1y, check_finite=False)
            rss_s = ryy**2
            fac = inference.triangular(r11, mean=centring)
            method = "TSQR (Householder R of each chunk, merged): triangular solve"
        else:
            bmat = r11 * pr.d  # R of the centred design in original units
            u, sv, vt = sla.svd(bmat, check_finite=False)
            beta = vt[:rank].T @ ((u[:, :rank].T @ r1y) / sv[:rank])
            beta_s = beta * pr.d
            rss_s = float(np.sum((r1y - r11 @ beta_s) ** 2) + ryy**2)
            method = "TSQR + truncated SVD of R: minimum-norm solution"
        passes = 2
        digits = _digits(kappa, math.sqrt(rss_s / max(1.0 - rss_s, EPS)) if intercept else 0.0, normal=False)
        why = (
            f"second pass (TSQR) because the scaled normal matrix's condition {kappa_n:.3g} is above "
            f"{threshold:.0e}"
            if kappa_n > threshold
            else "second pass (TSQR) because Cholesky of the scaled normal matrix failed or the Gram looked "
            "rank-deficient"
        ) + "; the R factor keeps the design's own conditioning (not its square)"
    else:
        kappa = math.sqrt(kappa_n) if np.isfinite(kappa_n) else math.inf
        kappa_n_final = kappa_n
        if k and chol is not None and rank_gram == k:
            beta_s = sla.cho_solve((chol, False), pr.b, check_finite=False)
            rank = k
            fac = inference.triangular(chol, mean=centring, gram_diagonal=np.diag(pr.s))
            method = "normal equations: Cholesky of the scaled, centred Gram"
        elif k:
            rank = rank_gram
            cxx = pr.s * np.outer(pr.d, pr.d)
            cxy = pr.b * pr.d * pr.dy
            ev, vec = np.linalg.eigh(cxx)
            keep = np.argsort(ev)[::-1][:rank]
            beta = vec[:, keep] @ ((vec[:, keep].T @ cxy) / ev[keep])
            beta_s = beta * pr.d / pr.dy
            method = "normal equations: truncated eigendecomposition (minimum norm)"
        else:
            rank, fac = 0, inference.triangular(np.zeros((0, 0)), mean=centring)
            method = "no non-constant columns: intercept only"
        rss_s = float(max(1.0 - beta_s @ pr.b, 0.0)) if k else 1.0
        # the Gram sees a rank only down to ~sqrt(eps): digits from the normal matrix's condition
        passes = 1
        digits = _digits(kappa, 0.0, normal=True) if k else 15.9
        why = (
            f"one pass: the scaled normal matrix's condition {kappa_n:.3g} is at most {threshold:.0e}, "
            f"so Cholesky keeps about {digits:.1f} digits"
            if not needs2
            else f"one pass only, but the scaled normal matrix's condition is {kappa_n:.3g}: about "
            f"{digits:.1f} correct digits; run the second pass (TSQR) for an accurate answer"
        )
    # the raw design's condition from the R factor where there is one (the Gram's eigenvalues square it and
    # see nothing past ~1e8: means of 1e4 alone take [1, X] there)
    factor = None
    if rstat is not None and k and rank == k:
        factor = rstat.r[: k + 1, : k + 1] if intercept else rstat.r[:k, :k]
    elif rstat is None and k and chol is not None and rank == k:
        factor = sla.block_diag([[math.sqrt(n)]], chol) if intercept else chol
    if factor is not None and not pr.constant:
        cond_raw = _raw_condition(factor, pr.mu[pr.active], pr.d, intercept)
    rss = rss_s * pr.dy**2 if pr.tss > 0 else 0.0
    fit = inference.summary(
        fac, rss=rss, tss=pr.tss, n=n, n_params=rank + int(intercept), scales=pr.d, centred=intercept
    )
    dof, sigma2, r2, se_icpt = fit.dof, fit.sigma2, fit.r2, fit.se_intercept
    coef = np.zeros(p)
    coef[pr.active] = beta_s * pr.dy / pr.d
    se = np.full(p, math.nan)
    vif_all = np.full(p, math.nan)
    if k:
        se[pr.active] = fit.se
        vif_all[pr.active] = fit.vif
    icpt = float(pr.mu[p] - pr.mu[:p] @ coef) if intercept else 0.0
    digits_slopes = digits
    # standard errors: diag((DᵀD)⁻¹) from the factor (error ~ eps κ² from the Gram, eps κ from R) times the
    # residual variance; from one pass the scaled RSS is 1 − βᵀb, which cancels: its relative error is
    # about eps κ_n / rss (nothing cancels in pass 2's R, where the RSS is its last diagonal entry squared)
    if not k or not np.isfinite(kappa):
        se_digits = 15.9 if not k else 0.0
    elif passes == 1:
        err = EPS * kappa_n_final * max(1.0, 0.5 / rss_s) if rss_s > EPS * kappa_n_final else 1.0
        se_digits = float(np.clip(min(digits_slopes, -math.log10(err)), 0.0, 15.9))
    else:  # R's last diagonal entry is the residual norm, with absolute error ~ eps κ (of the unit-norm y)
        ryy_abs = math.sqrt(max(rss_s, 0.0))
        err = EPS * max(kappa, 1.0) / ryy_abs if ryy_abs > EPS * max(kappa, 1.0) else 1.0
        se_digits = float(np.clip(min(digits_slopes, -math.log10(err)), 0.0, 15.9))
    if intercept and k:
        # the intercept μ_y − μ·β inherits the slopes' error times |μ|: large means cost digits there
        full = math.hypot(icpt, float(np.linalg.norm(coef)))
        amp = float(np.linalg.norm(pr.mu[pr.active]) * np.linalg.norm(coef)) / full if full > 0 else 1.0
        digits = float(max(0.0, digits - math.log10(max(1.0, amp))))
    if k and rank < k:
        notes.append(
            f"rank {rank} < {k} columns: the design is rank-deficient; the minimum-norm solution is "
            "reported (coefficients of collinear columns are not identifiable; the rank is decided on "
            "unit-norm columns, so it does not change when a column is rescaled, but the minimum norm is "
            "taken in the features' own units, as numpy lstsq on the centred design does, and does)"
        )
    if needs2 and rstat is None:
        notes.append(
            f"digits at risk: scaled normal-matrix condition {kappa_n:.3g}, "
            f"about {digits:.1f} correct digits from one pass"
        )
    elif digits < 6:
        notes.append(
            f"ill-conditioned: condition {kappa:.3g} of the scaled design, about {digits:.1f} correct digits"
        )
    return {
        "features": names,
        "coef": coef.tolist(),
        "intercept": icpt,
        "se": se.tolist(),
        "se_intercept": se_icpt,
        "vif": vif_all.tolist(),
        "r2": r2,
        "rss": rss,
        "sigma2": sigma2,
        "dof": dof,
        "n": n,
        "p": p,
        "k": k,
        "rank": rank,
        "rank_deficient": bool(k and rank < k),
        "constant_columns": [names[j] for j in pr.constant],
        "condition_raw": cond_raw,
        "condition_scaled": kappa,
        "condition_normal_scaled": kappa_n_final,
        "condition_normal_scaled_pass1": kappa_n,
        "condition_pocon": 1.0 / rcond_po
        if rcond_po and np.isfinite(rcond_po) and rcond_po > 0
        else math.inf,
        "method": method,
        "passes": passes,
        "correct_digits_estimate": digits,
        "correct_digits_slopes": digits_slopes,
        "se_digits": se_digits,
        "needs_second_pass": needs2,
        "plan": plan,
        "message": "; ".join(notes) or "ok",
        "why": why,
    }


# --------------------------------------------------------------------------------------------- driver


def _parts(chunks: Part | Sequence[Part]) -> list[Part]:
    return [chunks] if callable(chunks) else list(chunks)


def solve_stream(
    chunks: Part | Sequence[Part],
    *,
    intercept: bool = True,
    second_pass: str = "auto",
    threshold: float = 1e8,
    rcond: float | None = None,
    features: Sequence[str] | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """One- or two-pass least squares over a re-iterable chunk source.

    ``chunks`` is a callable returning a fresh iterator of ``(X, y, first_row)`` chunks, or a sequence of
    such callables (parts, e.g. shards: one statistic per part, merged in order, exactly as separate shard
    jobs would). A part with the attribute ``owned_chunks = True`` (as :func:`source_parts` makes) takes a
    ``pool=`` keyword and yields chunks that pass 1 may overwrite, saving a copy per chunk; its
    ``indexed()``, where given, reads the same chunks by index (:func:`accumulate_part`). ``second_pass``:
    ``"auto"`` (when :func:`solve` says digits are at risk), ``"always"``, ``"never"``. ``threads``: pass 1's
    worker threads (:func:`accumulate`; the bits do not depend on it). The result of :func:`solve` plus
    ``seconds``, ``seconds_pass1``, ``seconds_pass2`` and ``threads``.
    """
    if second_pass not in ("auto", "always", "never"):
        raise ValueError("second_pass must be 'auto', 'always' or 'never'")
    parts = _parts(chunks)
    threads = usable_cores() if threads is None else max(1, int(threads))

    from reglab.data.large import BufferPool

    pool = BufferPool()  # two buffers for every part
    t0 = time.perf_counter()
    stat = merge_in_order(
        [
            accumulate_part(part, features=list(features) if features else None, threads=threads, pool=pool)
            for part in parts
        ]
    )
    t1 = time.perf_counter()
    res = solve(stat, intercept=intercept, rcond=rcond, threshold=threshold, features=features)
    t2 = t1
    if res["k"] and (second_pass == "always" or (second_pass == "auto" and res["needs_second_pass"])):
        rstat = merge_in_order(
            [accumulate_r_part(part, res["plan"], threads=threads, pool=pool) for part in parts]
        )
        t2 = time.perf_counter()
        res = solve(
            stat, intercept=intercept, rstat=rstat, rcond=rcond, threshold=threshold, features=features
        )
    res["seconds_pass1"] = t1 - t0
    res["seconds_pass2"] = (t2 - t1) if res["passes"] == 2 else 0.0
    res["seconds"] = time.perf_counter() - t0
    res["threads"] = threads
    return res


def source_parts(
    source: str | os.PathLike,
    *,
    target: str,
    features: Sequence[str] | None = None,
    chunk_rows: int | None = None,
    shards: int | None = None,
) -> tuple[list[Part], list[str]]:
    """Parts for :func:`solve_stream` over a file or shard directory, and the feature names.

    A directory gives one part per ``*.parquet`` file (sorted); a Parquet file with ``shards=k`` gives the
    :func:`reglab.data.large.shard_ranges` row-group ranges; otherwise one part.
    """
    from reglab.data import large

    src = Path(source)
    feats = large.feature_columns(src, target=target, features=features)

    def reader(path: Path, groups: list[int] | None = None) -> Part:
        def part(pool: large.BufferPool | None = None) -> Iterator[Chunk]:
            return large.iter_chunks(
                path, target=target, features=feats, chunk_rows=chunk_rows, row_groups=groups, pool=pool
            )

        def indexed() -> large.RowGroups | None:
            """The same chunks read by index (several threads at once), where they are whole row groups."""
            if path.is_file() and large.is_csv(path):
                return None
            rg = large.RowGroups(path, target=target, features=feats, row_groups=groups)
            return rg if chunk_rows is None or chunk_rows >= rg.max_rows else None

        part.owned_chunks = True  # iter_chunks yields arrays that are the caller's
        part.indexed = indexed
        return part

    if src.is_dir():
        return [reader(f) for f in large.parquet_files(src)], feats
    if shards and src.suffix.lower() == ".parquet":
        return [reader(src, g) for g in large.shard_ranges(src, shards) if g], feats
    return [reader(src)], feats
