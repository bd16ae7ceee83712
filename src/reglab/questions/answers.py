"""Plain answers to the seed articles' questions, written from artifacts (every number is read, not typed).

Each function returns a list of sentences, or an empty list when the runs it needs are not in
the config (a study without them simply has no such paragraph).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reglab.studies.convergence import keyed_runs

Docs = Mapping[str, Mapping[str, Any]]


def _g(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def seed_001(keras: Docs, closed: Docs, diag: Docs) -> list[str]:
    adam, sgd, nobias = keras.get("s001_adam"), keras.get("s001_sgd"), keras.get("s001_adam_nobias")
    d = diag.get("collinear_toy")
    if not adam or not d:
        return []
    s = adam["summary"]
    mn = d["min_norm_solution"]
    out = [
        f"The design is {d['verdict_class']}: rank {d['rank']} for {d['n_params']} parameters, because x2 = x1 + 1 "
        f"in every row. Every (w1, w2, b) with w1 + w2 = 2 and b = 1 - w2 fits the five rows exactly; the "
        f"minimum-norm one is ({_g(mn['x1'])}, {_g(mn['x2'])}, {_g(mn['intercept'])}), which is the 'obvious' (1, 1).",
        f"Keras' Dense(1) with Adam (lr {adam['spec']['learning_rate']}, {adam['spec']['epochs']} epochs) over "
        f"{adam['n_repeats']} RandomNormal(0, 0.05) initialisations lands at w1 = {_g(s['x1']['median'])} "
        f"(5-95%: {_g(s['x1']['q05'])} to {_g(s['x1']['q95'])}), w2 = {_g(s['x2']['median'])}, "
        f"b = {_g(s['intercept']['median'])}: exact fits (final MSE {_g(adam['final_mse_float64'])}) on the line of "
        "solutions, not at (1, 1). Nothing is wrong with Adam or the code: the loss is flat along that line, so "
        "where training stops on it depends on the initialisation and on the optimizer's path.",
    ]
    if sgd:
        t = sgd["summary"]
        out.append(
            f"Plain SGD (lr {sgd['spec']['learning_rate']}) from the same initialisations lands at w1 = "
            f"{_g(t['x1']['median'])} (5-95%: {_g(t['x1']['q05'])} to {_g(t['x1']['q95'])}), w2 = "
            f"{_g(t['x2']['median'])}: gradient descent only moves within the row space of the design, so it ends "
            "at the minimum-norm solution plus the initial weights' null-space component, which is small here; "
            "Adam's per-coordinate scaling leaves the row space and drifts along the line.")
    if nobias:
        t = nobias["summary"]
        out.append(
            f"Without the bias (use_bias=False) the design [x1, x1 + 1] has full rank and the solution is unique: "
            f"Adam gets w1 = {_g(t['x1']['median'])}, w2 = {_g(t['x2']['median'])} "
            f"(closed form {_g(nobias['references'].get('closed_form', {}).get('x1'))}, "
            f"{_g(nobias['references'].get('closed_form', {}).get('x2'))}).")
    return out


def seed_002(keras: Docs, closed: Docs, diag: Docs) -> list[str]:
    full, full64 = keras.get("s002_fullbatch_f32_10k"), keras.get("s002_fullbatch_f64_10k")
    mb10, mb20 = keras.get("s002_minibatch32_f32_10k"), keras.get("s002_minibatch32_f32_20k")
    c = closed.get("underdetermined")
    if not full or not c:
        return []
    out = [
        f"numpy's least squares solves the {c['n']} x {len(c['features'])} system to MSE "
        f"{_g(c['solvers']['lstsq']['train_mse'])}: it has more unknowns than equations, so exact solutions exist.",
        f"Keras' full-batch SGD (lr {full['spec']['learning_rate']}) reaches MSE {_g(full['final_mse_float64'])} "
        f"after {full['epochs_run']} epochs in float32"
        + (f" and {_g(full64['final_mse_float64'])} in float64" if full64 else "")
        + ": at this point float32 is not what holds it back (float64 is no better). Gradient descent contracts the "
        "error along each eigenvector of A'A at its own rate; the smallest nonzero eigenvalues are tiny compared "
        "with the largest, which fixes the largest stable learning rate, so those directions need far more than "
        "10,000 steps (the convergence study seed002 counts them, and shows where float32 finally stalls).",
    ]
    if mb10:
        steps = mb10["repeats"][0]["optimizer_steps"]
        out.append(
            f"With batch 32 each epoch makes {steps // max(mb10['epochs_run'], 1)} updates instead of 1 "
            f"({steps} in {mb10['epochs_run']} epochs) at the same learning rate: MSE "
            f"{_g(mb10['final_mse_float64'])} after {mb10['epochs_run']} epochs"
            + (f" and {_g(mb20['final_mse_float64'])} after {mb20['epochs_run']}" if mb20 else "")
            + ". The system is consistent (one weight vector gives zero loss on every batch at once), so the "
            "minibatch gradients all vanish at a solution: SGD's noise does not put a floor under the loss and "
            "it keeps converging geometrically, only with many more steps per epoch.")
    return out


def seed_003(keras: Docs, closed: Docs, diag: Docs) -> list[str]:
    lin, mlp = keras.get("s003_linear"), keras.get("s003_mlp_regression")
    log, mlpc = keras.get("s003_logistic"), keras.get("s003_mlp_classification")
    c = closed.get("balloons")
    if not lin or not c:
        return []
    ls = c["targets"]["num_balloons"]["least_squares"]
    ref = ls["solvers"][ls["recommended"]]["coef"]
    out = [
        f"Dense(1) trained on squared error is linear regression: Keras gives children {_g(lin['coef']['children'])}, "
        f"age {_g(lin['coef']['age'])}, relationship {_g(lin['coef']['relationship'])}; the closed form on the same "
        f"rows gives {_g(ref['children'])}, {_g(ref['age'])}, {_g(ref['relationship'])}.",
    ]
    if mlp:
        out.append(f"The MLP models the group-dependent slopes that no single line can: validation MSE "
                   f"{_g(mlp['final_val_loss'])} against the linear model's {_g(lin['final_val_loss'])}.")
    if log:
        logit = (c["targets"].get("color", {}).get("logistic") or {}).get("solvers", {}).get("statsmodels_logit")
        if logit and logit.get("coef"):
            out.append(
                f"Dense(1, sigmoid) with binary cross-entropy is logistic regression: Keras gives children "
                f"{_g(log['coef']['children'])}, age {_g(log['coef']['age'])} (ratio "
                f"{_g(log['coef']['children'] / log['coef']['age'])}); the maximum-likelihood fit gives "
                f"{_g(logit['coef']['children'])}, {_g(logit['coef']['age'])} (ratio "
                f"{_g(logit['coef']['children'] / logit['coef']['age'])}). The weights are large because the "
                "colour is a deterministic function of the inputs, so the likelihood rewards steep sigmoids.")
    if mlpc and log:
        out.append(f"The classifier MLP reaches validation cross-entropy {_g(mlpc['final_val_loss'])} against "
                   f"logistic regression's {_g(log['final_val_loss'])}.")
    return out


def seed_004(keras: Docs, closed: Docs, diag: Docs) -> list[str]:
    c = closed.get("fuel")
    runs = {k: v for k, v in keras.items() if k.startswith("s004_")}
    if not c or not runs:
        return []
    ref = c["solvers"][c["recommended"]]
    out = [f"The closed form on all {c['n']} rows: ENGINESIZE {_g(ref['coef']['ENGINESIZE'], 5)}, CYLINDERS "
           f"{_g(ref['coef']['CYLINDERS'], 5)}, FUELCONSUMPTION_COMB {_g(ref['coef']['FUELCONSUMPTION_COMB'], 5)}, "
           f"intercept {_g(ref['intercept'], 5)} (training MSE {_g(ref['train_mse'], 4)})."]
    for name, doc in sorted(runs.items()):
        spec = doc["spec"]
        what = f"{spec['optimizer']} lr {spec['learning_rate']} on {'standardized' if doc['standardize'] else 'raw'} features"
        if doc["diverged"]:
            out.append(f"{name} ({what}) diverged at epoch {doc['diverged_epoch']}: the step is beyond the stability "
                       "limit set by the largest eigenvalue of the raw features' second-moment matrix.")
        else:
            out.append(f"{name} ({what}): MSE {_g(doc['final_mse_float64'], 4)} after {doc['epochs_run']} epochs, "
                       f"distance to the closed form {_g(doc['distance'].get('closed_form'))} (in trained units).")
    return out


def all_answers(keras: Docs, closed: Docs, diag: Docs) -> dict[str, list[str]]:
    return {"001": seed_001(keras, closed, diag), "002": seed_002(keras, closed, diag),
            "003": seed_003(keras, closed, diag), "004": seed_004(keras, closed, diag)}


# ------------------------------------------------------------------ convergence studies


def _median(values: list[float]) -> float | None:
    vals = sorted(v for v in values if v is not None)
    return None if not vals else (vals[len(vals) // 2] if len(vals) % 2 else 0.5 * (vals[len(vals) // 2 - 1] + vals[len(vals) // 2]))


def _spectrum_sentence(summary: Mapping[str, Any], key: str) -> str:
    sp = summary["theory"][key]["spectrum"]
    return (f"The Hessian of the MSE ({key} features) has largest eigenvalue {_g(sp['lambda_max'])} and smallest "
            f"nonzero eigenvalue {_g(sp['lambda_min_nonzero'])} (rank {sp['rank']}), a condition number of "
            f"{_g(sp['condition_number'])}; gradient descent is stable only for learning rates below "
            f"2/λmax = {_g(sp['stability_limit'])}.")


def study_seed002(summary: Mapping[str, Any]) -> list[str]:
    out = [_spectrum_sentence(summary, "raw")]
    tol = summary["tolerance"]["value"]
    for dtype in ("float64", "float32"):
        runs = keyed_runs(summary, solver="keras_sgd", batch_size=None, dtype=dtype, repeat=0)
        if not runs:
            continue
        r = runs[0]
        at = {int(k): v for k, v in (r.get("loss_at") or {}).items()}
        pred = {int(k): v for k, v in (r.get("predicted_loss_at") or {}).items()}
        tt = r["time_to_tolerance"]
        parts = [f"Full-batch SGD at lr {r['learning_rate']} in {dtype}:"]
        if 10_000 in at:
            parts.append(f"after 10,000 epochs MSE {_g(at[10_000])} (theory, from the same initial weights: "
                         f"{_g(pred.get(10_000))});")
        parts.append(f"theory predicts {r.get('predicted_steps') or 'no'} steps to reach {tol:g},")
        parts.append(f"the run reached it after {tt['epochs']} epochs." if tt["reached"] else
                     f"the run had not reached it after {r['epochs_run']} epochs (best {_g(tt['best'])}).")
        out.append(" ".join(parts))
    f64 = keyed_runs(summary, solver="keras_sgd", batch_size=None, dtype="float64", repeat=0)
    f32 = keyed_runs(summary, solver="keras_sgd", batch_size=None, dtype="float32", repeat=0)
    if f64 and f64[0]["time_to_tolerance"]["reached"]:
        out.append(f"Run in float64, the article's full-batch setup reaches 1e-10 after "
                   f"{f64[0]['time_to_tolerance']['epochs']} steps: 10,000 is about "
                   f"{f64[0]['time_to_tolerance']['epochs'] / 10_000:.0f}x too few. The error along each eigenvector "
                   "shrinks by (1 - lr·λ) per step and λmax caps lr, so the small eigenvalues need about 1/(lr·λmin) "
                   "steps per factor e.")
    if f32 and not f32[0]["time_to_tolerance"]["reached"]:
        r = f32[0]
        floor = summary["theory"]["raw"].get("float_floor_float32", {})
        at_end = (r.get("predicted_loss_at") or {}).get(str(r["epochs_run"]))
        out.append(f"In float32 (Keras' default) the same run stalls at MSE {_g(r['time_to_tolerance']['best'])} "
                   f"(theory: {_g(at_end)} by epoch {r['epochs_run']}), far above the float32 floor of the exact "
                   f"solution ({_g(floor.get('loss_evaluated_in_dtype'))}): at the end, the median update "
                   f"lr·|gradient| is {_g(r.get('update_ulp_ratio'))} of half a float32 ulp of the weight it updates, "
                   "so most updates round back to the same float32 number and are lost: in Keras' default float32, "
                   "full-batch SGD at this learning rate has stopped moving above 1e-10.")
    for dtype in ("float32", "float64"):
        runs = keyed_runs(summary, solver="keras_sgd", dtype=dtype, repeat=0)
        mb = [r for r in runs if r["batch_size"] is not None]
        if mb:
            r, tt = mb[0], mb[0]["time_to_tolerance"]
            out.append(f"Minibatch SGD (batch {r['batch_size']}, {dtype}) reached {tol:g} after "
                       f"{tt['epochs']} epochs ({_g(tt['seconds'])} s)." if tt["reached"] else
                       f"Minibatch SGD (batch {r['batch_size']}, {dtype}) reached {_g(tt['best'])} "
                       f"(not {tol:g}) in {r['epochs_run']} epochs.")
    floor = summary["theory"]["raw"].get("float_floor_float32")
    if floor:
        best32 = min((r["time_to_tolerance"]["best"] for r in keyed_runs(summary, family="keras", dtype="float32")
                      if r["time_to_tolerance"] and r["time_to_tolerance"]["best"] is not None), default=None)
        out.append(f"Float32 floor: the exact solution rounded to float32 has MSE {_g(floor['loss_exact_rounded'])}, "
                   f"and evaluated in float32 arithmetic {_g(floor['loss_evaluated_in_dtype'])}; float32 "
                   f"got down to {_g(best32)} (the best float32 run).")
        mb32 = [r for r in keyed_runs(summary, solver="keras_sgd", dtype="float32", repeat=0) if r["batch_size"]]
        if mb32 and mb32[0].get("update_ulp_ratio") is not None:
            r = mb32[0]
            out.append(f"The batch-{r['batch_size']} float32 run ends at MSE {_g(r['time_to_tolerance']['best'])} with a "
                       f"median batch update of {_g(r['update_ulp_ratio'])} half-ulps: it too ends where rounding "
                       "swallows the updates, but its batch gradients (means over fewer rows) are larger than the "
                       "full gradient at the same weights, so it gets there at a lower loss.")
    ib = [r["implicit_bias_distance"] for r in keyed_runs(summary, family="keras", optimizer="sgd", dtype="float64")
          if r.get("implicit_bias_distance") is not None]
    if ib:
        out.append(f"Implicit bias: from initial weights w0, gradient descent converges to the minimum-norm solution "
                   f"plus the null-space part of w0; the float64 SGD runs end {_g(min(ib))} to {_g(max(ib))} away from "
                   "that predicted point (the rest is the part not yet converged).")
    return out


def study_seed001(summary: Mapping[str, Any]) -> list[str]:
    out = []
    for opt in ("sgd", "adam", "rmsprop", "adagrad", "momentum", "nesterov"):
        runs = [r for r in keyed_runs(summary, family="keras", optimizer=opt) if not r["diverged"]]
        if not runs:
            continue
        d = _median([r.get("implicit_bias_distance") for r in runs])
        reached = sum(bool(r["time_to_tolerance"] and r["time_to_tolerance"]["reached"]) for r in runs)
        out.append(f"{opt}: {reached}/{len(runs)} runs reached MSE {summary['tolerance']['value']:g}; median distance "
                   f"of the final weights from gradient descent's predicted limit (minimum-norm solution + null-space "
                   f"part of the initial weights) {_g(d)}.")
    if out:
        out.insert(0, "Where each optimizer lands on seed 001's line of exact solutions, against the implicit-bias "
                      "prediction for gradient descent:")
    return out


def study_seed004(summary: Mapping[str, Any]) -> list[str]:
    keys = list(summary["theory"])
    out = [_spectrum_sentence(summary, k) for k in keys]
    for solver, what in (("article_gd", "The article's gradient descent (eta 1e-6, w = ones, sum-of-squares gradient)"),
                         ("article_sgd", "The article's SGD (eta 1e-4, batch 10)")):
        for r in keyed_runs(summary, solver=solver):
            feats = "standardized" if r["standardize"] else "raw"
            extra = r.get("extra") or {}
            text = (f"{what} on {feats} features ends {_g(r['final_rel_coef_error'])} (relative) from the closed form, "
                    f"MSE {_g(r['final_loss_float64'], 5)}")
            if "loss_polyak" in extra:
                text += f"; the average of its iterates has MSE {_g(extra['loss_polyak'], 5)}"
            out.append(text + ".")
    tol = summary["tolerance"]["value"]
    for std in (False, True):
        runs = [r for r in keyed_runs(summary, family="keras", standardize=std) if r["time_to_tolerance"]]
        if not runs:
            continue
        hit = [r for r in runs if r["time_to_tolerance"]["reached"]]
        div = sum(r["diverged"] for r in runs)
        best = min((r["time_to_tolerance"]["epochs"] for r in hit), default=None)
        out.append(f"Keras on {'standardized' if std else 'raw'} features: {len(hit)}/{len(runs)} runs reached relative "
                   f"coefficient error {tol:g}" + (f" (fastest in {best} epochs)" if best else "") +
                   f"; {div} diverged.")
    return out + averaging_sentence(summary)


def averaging_sentence(summary: Mapping[str, Any]) -> list[str]:
    """Last iterate vs Polyak (all epochs) vs tail (second half) averages of minibatch Keras SGD runs."""
    runs = [r for r in summary["runs"] if r["family"] == "keras" and r.get("optimizer") == "sgd"
            and r.get("rel_coef_error_polyak") is not None and not r["diverged"]]
    if not runs:
        return []
    last = _median([r["final_rel_coef_error"] for r in runs])
    pol = _median([r["rel_coef_error_polyak"] for r in runs])
    tail = _median([r["rel_coef_error_tail"] for r in runs])
    return [f"Averaging minibatch Keras SGD ({len(runs)} runs): relative coefficient error of the last iterate "
            f"{_g(last)}, of the average of all epoch-end iterates {_g(pol)}, of the second half's average {_g(tail)} "
            "(medians): averaging all iterates keeps the early, far-off ones; the tail average removes most of the "
            "noise without that bias."]


def study_generic(summary: Mapping[str, Any]) -> list[str]:
    out = [_spectrum_sentence(summary, k) for k in summary["theory"]]
    runs = [r for r in summary["runs"] if r["time_to_tolerance"]]
    hit = [r for r in runs if r["time_to_tolerance"]["reached"]]
    out.append(f"{len(hit)}/{len(runs)} runs reached {summary['tolerance']['metric']} "
               f"{summary['tolerance']['value']:g}.")
    return out + averaging_sentence(summary)


def convergence_answers(studies: Docs) -> dict[str, list[str]]:
    """Sentences per study; seed studies get their question's answer, others a generic summary."""
    special = {"seed001": study_seed001, "seed002": study_seed002, "seed004": study_seed004}
    return {name: special.get(name, study_generic)(s) for name, s in studies.items()}
