"""Benchmark: exact least squares streamed from disk (reglab.linalg.streaming) at scale, against in-memory
solvers.

Writes an ``n × d`` Parquet file with :func:`reglab.data.large.write_large` (default 1e6 × 100, row groups
of 1e5) and times, each in its own subprocess (so every peak RSS is that method's own):

* ``gram_in_memory``: one ``X.T @ X`` of the design already in memory (the yardstick);
* ``read_only``: streaming every chunk with ``iter_chunks`` (into the solver's two reused buffers) and
  computing nothing, cold (page cache of the file dropped with ``posix_fadvise(POSIX_FADV_DONTNEED)``)
  and warm;
* ``warm`` / ``cold``: :func:`reglab.linalg.streaming.solve_stream` with the file in / out of page cache;

these four run ``--repeat`` times (3) in their process, the cache dropped before each cold run, and the
best time counts (``all_seconds`` keeps every one); the best in-memory product is the strictest yardstick.
* competitors: numpy ``lstsq`` (in memory), scikit-learn ``LinearRegression``, statsmodels ``OLS``,
  ``SGDRegressor.partial_fit`` over the chunks for 1 and 10 passes, and Keras ``Dense(1)`` + Adam
  streaming the same file through the compiled training loop (1 epoch at batch 32, 10 at batch 1,024);

each as ``{seconds, peak_rss_mb, coef_digits}``, ``coef_digits`` = −log10 of the relative error of
``(intercept, slopes)`` against in-memory ``lstsq`` on the centred design.

    .venv/bin/python bench/bench_scale.py                       # 1e6 x 100
    .venv/bin/python bench/bench_scale.py --n 20000 --d 10 --json

Prints a table and, with ``--json``, one JSON object on the last line (keys ``n, d, gram_in_memory_s,
warm_s, cold_s, read_only_s, read_only_warm_s, warm_over_gram, cold_over_read, gram_flops_per_s,
warm_flops_per_s, warm_fraction_of_gram, warm_over_read_warm_plus_gram, bound, peak_rss_mb, competitors``):
the roofline counts n·d² flop per pass, and ``bound`` says which floor applies: the in-memory product, or
(where decoding the file alone takes longer) decoding plus the product.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
ALL_COMPETITORS = [
    "numpy_lstsq",
    "sklearn_linear_regression",
    "statsmodels_ols",
    "sgd_1_pass",
    "sgd_10_passes",
    "keras_adam_1epoch_b32",
    "keras_adam_10epochs_b1024",
]
#: Keras Dense(1) + Adam streaming the file (reglab.training.streamed): (epochs, batch size)
KERAS_RUNS = {"keras_adam_1epoch_b32": (1, 32), "keras_adam_10epochs_b1024": (10, 1024)}


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _drop_cache(path: Path) -> bool:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    ok = hasattr(os, "posix_fadvise")
    for f in files:
        if not ok:
            break
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return ok


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import pyarrow.parquet as pq

    from reglab.data.large import iter_chunks

    md = pq.ParquetFile(path).metadata
    n, d = md.num_rows, md.num_columns - 1
    x = np.empty((n, d), order="F")
    y = np.empty(n)
    for xc, yc, start in iter_chunks(path, target="y"):
        x[start : start + len(yc)] = xc
        y[start : start + len(yc)] = yc
    return x, y


SOLVER_THREADS = 0
THREADS = 0
REPEAT = 3


def _worker(method: str, path: Path, chunk_rows: int | None) -> dict:
    """Run one method in this (fresh) process; returns seconds, peak RSS and the coefficients."""
    from reglab.data.large import BufferPool, iter_chunks
    from reglab.linalg.streaming import solve_stream, source_parts

    out: dict = {"method": method}
    coef = None
    if method in ("warm", "cold", "read_only", "read_only_warm"):
        times = []
        for _ in range(REPEAT):
            if method in ("cold", "read_only"):
                out["cache_dropped"] = _drop_cache(path)
            elif not times:  # make sure the file is in page cache
                for chunk in iter_chunks(path, target="y"):
                    del chunk  # one chunk alive at a time, as in the solver
            t0 = time.perf_counter()
            if method.startswith("read_only"):  # the solver's reader, into its reused buffers
                rows, pool = 0, BufferPool()
                for xc, yc, _ in iter_chunks(path, target="y", chunk_rows=chunk_rows, pool=pool):
                    rows += len(yc)
                    pool.give(xc)
                    del xc, yc
                out["rows"] = rows
            else:
                parts, feats = source_parts(path, target="y", chunk_rows=chunk_rows)
                res = solve_stream(parts, features=feats, threads=SOLVER_THREADS or None)
                coef = [res["intercept"], *res["coef"]]
                out.update(
                    passes=res["passes"],
                    method_used=res["method"],
                    threads=res["threads"],
                    condition_scaled=res["condition_scaled"],
                    correct_digits_estimate=res["correct_digits_estimate"],
                )
                out.setdefault("pass_seconds", []).append([res["seconds_pass1"], res["seconds_pass2"]])
            times.append(time.perf_counter() - t0)
        out["seconds"], out["all_seconds"] = min(times), times
    elif method in (
        "gram_in_memory",
        "reference",
        "numpy_lstsq",
        "sklearn_linear_regression",
        "statsmodels_ols",
    ):
        if method == "sklearn_linear_regression":
            from sklearn.linear_model import LinearRegression
        elif method == "statsmodels_ols":
            import statsmodels.api as sm
        x, y = _load(path)
        t0 = time.perf_counter()
        if method == "gram_in_memory":  # the best of REPEAT products (the strictest yardstick)
            times = []
            for _ in range(REPEAT):
                t0 = time.perf_counter()
                g = x.T @ x
                times.append(time.perf_counter() - t0)
            out.update(
                checksum=float(g[0, 0]),
                all_seconds=times,
                seconds=min(times),
                coef=None,
                peak_rss_mb=_peak_rss_mb(),
            )
            return out
        if method == "reference":
            mx, my = x.mean(axis=0), y.mean()
            sl = np.linalg.lstsq(x - mx, y - my, rcond=None)[0]
            coef = [float(my - mx @ sl), *sl.tolist()]
        elif method == "numpy_lstsq":
            a = np.column_stack([np.ones(len(y)), x])
            coef = np.linalg.lstsq(a, y, rcond=None)[0].tolist()
        elif method == "sklearn_linear_regression":
            m = LinearRegression().fit(x, y)
            coef = [float(m.intercept_), *m.coef_.tolist()]
        else:
            r = sm.OLS(y, sm.add_constant(x, prepend=True)).fit()
            coef = np.asarray(r.params).tolist()
        out["seconds"] = time.perf_counter() - t0
    elif method in KERAS_RUNS:
        from reglab.linalg.streaming import source_parts
        from reglab.training.streamed import adam_stream

        epochs, batch = KERAS_RUNS[method]
        parts, feats = source_parts(path, target="y", chunk_rows=chunk_rows)
        t0 = time.perf_counter()
        res = adam_stream(parts, len(feats), epochs=epochs, batch_size=batch, seed=0)
        out["seconds"] = time.perf_counter() - t0
        out["steps"] = res["steps"]
        coef = [res["intercept"], *res["coef"]]
    elif method.startswith("sgd"):
        from sklearn.linear_model import SGDRegressor

        passes = 1 if method == "sgd_1_pass" else 10
        m = SGDRegressor(learning_rate="invscaling", eta0=0.01, alpha=0.0, penalty=None, random_state=0)
        t0 = time.perf_counter()
        for _ in range(passes):
            for xc, yc, _ in iter_chunks(path, target="y", chunk_rows=chunk_rows):
                m.partial_fit(xc, yc)
                del xc, yc
        out["seconds"] = time.perf_counter() - t0
        coef = [float(m.intercept_[0]), *m.coef_.tolist()]
    else:
        raise SystemExit(f"unknown method {method}")
    out["coef"] = coef
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def _run(method: str, path: Path, chunk_rows: int | None, timeout: float, inline: bool = False) -> dict:
    if inline:  # same process: quick (for tests), but peak RSS is then the largest so far, not the method's
        try:
            return _worker(method, path, chunk_rows)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            return {"method": method, "error": repr(exc)}
    cmd = [sys.executable, str(HERE), "--worker", method, "--path", str(path)]
    if chunk_rows:
        cmd += ["--chunk-rows", str(chunk_rows)]
    if SOLVER_THREADS:
        cmd += ["--solver-threads", str(SOLVER_THREADS)]
    cmd += ["--repeat", str(REPEAT)]
    env = dict(os.environ)
    if THREADS:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(THREADS)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"method": method, "error": f"timed out after {timeout:.0f} s"}
    if p.returncode != 0:
        return {"method": method, "error": (p.stderr or p.stdout).strip().splitlines()[-1:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def _fits_in_memory(n: int, d: int) -> bool:
    """Whether in-memory solvers can hold the design: about three float64 copies in half the RAM."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return True
    return 3 * n * (d + 1) * 8 < ram / 2


def _digits(coef, ref) -> float | None:
    if coef is None or ref is None:
        return None
    c, r = np.asarray(coef, float), np.asarray(ref, float)
    if not np.all(np.isfinite(c)):
        return 0.0
    err = float(np.linalg.norm(c - r) / np.linalg.norm(r))
    return float(min(16.0, -math.log10(err))) if err > 0 else 16.0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--condition",
        type=float,
        default=None,
        help="condition number of the centred design (e.g. 1e7: the solver takes its second pass)",
    )
    ap.add_argument("--mean", type=float, default=0.0, help="mean of every feature (e.g. 1e4)")
    ap.add_argument("--row-group", type=int, default=100_000, help="rows per Parquet row group")
    ap.add_argument("--chunk-rows", type=int, default=None, help="rows per chunk (default: a row group)")
    ap.add_argument("--tmp", default=None, help="directory for the file (default: a temporary one)")
    ap.add_argument(
        "--competitors",
        default=",".join(ALL_COMPETITORS),
        help="comma-separated subset of " + ",".join(ALL_COMPETITORS) + " ('' for none)",
    )
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per method")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--inline",
        action="store_true",
        help="run every method in this process (fast, for tests; peak RSS then not per method)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS threads in the worker processes (0: inherit; 1 avoids oversubscription on a "
        "loaded machine)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="times each of gram_in_memory, read_only, cold and warm runs (the best counts)",
    )
    ap.add_argument(
        "--solver-threads",
        type=int,
        default=0,
        help="threads of the streaming solver's first pass (0: every usable core)",
    )
    ap.add_argument("--only", default=None, help="comma-separated subset of the core measurements")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--path", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    global SOLVER_THREADS, THREADS, REPEAT
    SOLVER_THREADS, THREADS, REPEAT = a.solver_threads, a.threads, max(1, a.repeat)
    if a.worker:
        print(json.dumps(_worker(a.worker, Path(a.path), a.chunk_rows)))
        return {}

    from reglab.data.large import write_large

    tmpdir = Path(a.tmp) if a.tmp else Path(tempfile.mkdtemp(prefix="bench_scale_"))
    tmpdir.mkdir(parents=True, exist_ok=True)
    shape = "" if a.condition is None and not a.mean else f"_c{a.condition or 0:g}_m{a.mean:g}"
    path = tmpdir / f"large_{a.n}x{a.d}_s{a.seed}_rg{a.row_group}{shape}.parquet"
    t0 = time.perf_counter()
    if not path.exists():
        write_large(
            path, n=a.n, d=a.d, seed=a.seed, chunk_rows=a.row_group, condition=a.condition, mean=a.mean
        )
    write_s = time.perf_counter() - t0

    core = ["reference", "gram_in_memory", "read_only", "read_only_warm", "cold", "warm"]
    wanted = set(a.only.split(",")) | {"reference"} if a.only else set(core)
    if not _fits_in_memory(a.n, a.d):  # the in-memory methods would be killed: skip them, say so
        skipped = {
            "reference",
            "gram_in_memory",
            "numpy_lstsq",
            "sklearn_linear_regression",
            "statsmodels_ols",
        }
        wanted -= skipped
        a.competitors = ",".join(c for c in a.competitors.split(",") if c and c not in skipped)
    runs = {
        m: (_run(m, path, a.chunk_rows, a.timeout, a.inline) if m in wanted else {"error": "skipped"})
        for m in core
    }
    comps = [c for c in a.competitors.split(",") if c]
    for c in comps:
        runs[c] = _run(c, path, a.chunk_rows, a.timeout, a.inline)
    ref = runs["reference"].get("coef")

    def entry(m):
        r = runs[m]
        if "error" in r:
            return {"error": r["error"]}
        e = {"seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"]}
        if r.get("coef") is not None:
            e["coef_digits"] = _digits(r["coef"], ref)
        return e

    def sec(m):
        return runs[m].get("seconds", math.nan)

    doc = {
        "n": a.n,
        "d": a.d,
        "file_mb": path.stat().st_size / 2**20,
        "write_s": write_s,
        "gram_in_memory_s": sec("gram_in_memory"),
        "warm_s": sec("warm"),
        "cold_s": sec("cold"),
        "read_only_s": sec("read_only"),
        "read_only_warm_s": sec("read_only_warm"),
        "warm_over_gram": sec("warm") / sec("gram_in_memory"),
        "cold_over_read": sec("cold") / sec("read_only"),
        # the roofline: n·d² per pass (one SYRK over the design); the bound that applies is the in-memory
        # product, or, where decoding the file alone takes longer than it, decoding plus the product
        "gram_flops_per_s": a.n * a.d**2 / sec("gram_in_memory"),
        "warm_flops_per_s": a.n * a.d**2 / sec("warm"),
        "warm_fraction_of_gram": sec("gram_in_memory") / sec("warm"),
        "warm_over_read_warm_plus_gram": sec("warm") / (sec("read_only_warm") + sec("gram_in_memory")),
        "bound": "decode + gram" if sec("read_only_warm") > sec("gram_in_memory") else "gram",
        "peak_rss_mb": runs["warm"].get("peak_rss_mb", math.nan),
        "peak_rss_cold_mb": runs["cold"].get("peak_rss_mb", math.nan),
        "cache_dropped": runs["cold"].get("cache_dropped"),
        "passes": runs["warm"].get("passes"),
        "reglab_coef_digits": _digits(runs["warm"].get("coef"), ref),
        "warm_pass_seconds": min(runs["warm"].get("pass_seconds") or [[math.nan, math.nan]], key=sum),
        "condition": a.condition,
        "mean": a.mean,
        "correct_digits_estimate": runs["warm"].get("correct_digits_estimate"),
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cpus": os.cpu_count(),
        "blas_threads": THREADS or "inherited",
        "solver_threads": runs["warm"].get("threads"),
        "competitors": {c: entry(c) for c in ["reference", "gram_in_memory", *comps]},
    }
    print(f"n={a.n} d={a.d} file={doc['file_mb']:.0f} MB (written in {write_s:.1f} s) load={doc['load']}")
    print(f"{'method':28s} {'seconds':>9s} {'peak MB':>9s} {'digits':>7s}")
    for m in ["read_only", "read_only_warm", "cold", "warm", "reference", "gram_in_memory", *comps]:
        r = runs[m]
        if "error" in r:
            print(f"{m:28s} error: {r['error']}")
            continue
        dg = _digits(r.get("coef"), ref)
        print(f"{m:28s} {r['seconds']:9.3f} {r['peak_rss_mb']:9.0f} {'' if dg is None else f'{dg:7.1f}':>7s}")
    print(
        f"warm/gram = {doc['warm_over_gram']:.2f}, cold/read = {doc['cold_over_read']:.2f}, "
        f"passes = {doc['passes']}"
    )
    print(
        f"roofline: X.T @ X at {doc['gram_flops_per_s'] / 1e9:.1f} GF/s (n·d²/t), the warm solve at "
        f"{doc['warm_flops_per_s'] / 1e9:.1f} GF/s = {100 * doc['warm_fraction_of_gram']:.0f} % of it; "
        f"warm / (read_only_warm + gram) = {doc['warm_over_read_warm_plus_gram']:.2f}; bound: {doc['bound']}"
    )
    if a.json:
        print(json.dumps(doc))
    if not a.tmp:
        path.unlink(missing_ok=True)
        try:
            tmpdir.rmdir()
        except OSError:
            pass
    return doc


if __name__ == "__main__":
    main()
