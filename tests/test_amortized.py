"""Seed 000's amortized stage: floors against a direct computation, the normalisation round trip, the
permutation invariance of each set encoder, and a tiny training run end to end."""

from __future__ import annotations

import numpy as np
import pytest

from reglab.data.amortized import SEED_CONDITION, Condition, from_frame_arrays, sample
from reglab.linalg import batched
from reglab.studies import amortized as study
from reglab.studies import amortized_encoder


@pytest.fixture(scope="module")
def batch():
    return sample(SEED_CONDITION.with_(n=20), 40, np.random.default_rng(5))


def test_ols_and_floor_match_a_direct_lstsq_per_dataset(batch):
    beta = batched.ols(batch.X, batch.y)
    floor = batched.floor(batch.X, batch.y)
    for i in range(len(batch.X)):
        ref, *_ = np.linalg.lstsq(batch.X[i], batch.y[i], rcond=None)
        np.testing.assert_allclose(beta[i], ref, rtol=1e-9, atol=1e-9)
        r = batch.X[i] @ ref - batch.y[i]
        assert floor[i] == pytest.approx(float(r @ r) / len(r), rel=1e-9)
    # no coefficient vector beats the floor on the rows it was fitted to
    for other in (
        batch.beta,
        batched.intercept_only(batch.y, 3),
        batched.gradient_steps(batch.X, batch.y, 3),
    ):
        assert np.all(batched.mse(batch.X, batch.y, other) >= floor - 1e-9)


def test_the_floor_fits_summary_agrees_with_a_direct_count(batch):
    beta = batched.ols(batch.X, batch.y)
    s = batched.fit_summary(batch.X, batch.y, beta)
    m, n, d = batch.X.shape
    direct_ranks = [np.linalg.matrix_rank(batch.X[i]) for i in range(m)]
    sds = [np.sqrt(np.sum((batch.X[i] @ beta[i] - batch.y[i]) ** 2) / (n - d)) for i in range(m)]
    assert (s["datasets"], s["n_params"], s["dof"]) == (m, d, n - d)
    assert s["rank"] == min(direct_ranks) and s["rank_deficient_datasets"] == sum(r < d for r in direct_ranks)
    assert s["residual_sd_median"] == pytest.approx(float(np.median(sds)), rel=1e-12)
    assert 0 < s["claimed_digits_min"] <= s["claimed_digits_median"] <= 16
    # a dataset made rank-deficient (its one feature copied into the intercept's place) is counted
    X = batch.X.copy()
    X[0, :, 0] = 1.0
    low = batched.fit_summary(X, batch.y, batched.ols(X, batch.y))
    assert low["rank"] == d - 1 and low["rank_deficient_datasets"] == 1 and low["claimed_digits_min"] == 0


def test_gradient_steps_descend_and_approach_ols(batch):
    losses = [
        batched.mse(batch.X, batch.y, batched.gradient_steps(batch.X, batch.y, k)).mean()
        for k in (0, 1, 3, 30)
    ]
    assert losses == sorted(losses, reverse=True)
    far = batched.gradient_steps(batch.X, batch.y, 20000)
    np.testing.assert_allclose(far, batched.ols(batch.X, batch.y), rtol=1e-6, atol=1e-6)


def test_normalisation_round_trip_is_exact(batch):
    xs, ys, stats = batched.normalize(batch.X, batch.y)
    np.testing.assert_allclose(xs.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(xs.std(axis=1), 1, rtol=1e-12)
    Xs = np.concatenate([xs, np.ones_like(ys)[..., None]], axis=-1)
    np.testing.assert_allclose(
        batched.unnormalize(batched.ols(Xs, ys), stats), batched.ols(batch.X, batch.y), rtol=1e-9, atol=1e-9
    )


def test_conditions_vary_one_factor_at_a_time():
    conds = study.conditions({"n": [10, 100], "noise_max": [0]})
    assert set(conds) == {"seed", "n=10", "noise_max=0"}
    assert conds["n=10"] == SEED_CONDITION.with_(n=10) and conds["noise_max=0"].n == 100
    with pytest.raises(ValueError, match="unknown factor 'rows'"):
        study.conditions({"rows": [3]})


def test_metrics_of_the_references():
    ev = study.Evaluation(3, {"noise_max": [0]}, 50)
    table = study.evaluate_references(ev).set_index(["name", "condition"])
    assert table.loc[("ols", "seed"), "excess_mean"] == pytest.approx(0, abs=1e-9)
    assert table.loc[("ols", "seed"), "excess_pct"] == pytest.approx(0, abs=1e-7)
    assert table.loc[("intercept_only", "seed"), "loss"] > 100 * table.loc[("ols", "seed"), "floor"]
    # noise-free data: the floor is 0, so there is no percentage, and the truth is exact
    assert table.loc[("ols", "noise_max=0"), "excess_pct"] is None or np.isnan(
        table.loc[("ols", "noise_max=0"), "excess_pct"]
    )
    assert table.loc[("truth", "noise_max=0"), "loss"] == pytest.approx(0, abs=1e-18)


def test_batch_from_the_dataset_artifact_regroups_rows():
    from reglab.data import datasets

    d = datasets.amortized(m=6, n=5, d=3, coef_scale=100.0, noise_max=5.0, seed=1)
    b = study.training_batch(d.frame, d.features, d.target, d.truth)
    assert b.X.shape == (6, 5, 3) and np.all(b.X[..., -1] == 1)
    np.testing.assert_allclose(
        batched.mse(b.X, b.y, b.beta).mean(),
        np.mean(
            (
                d.frame["y"]
                - (d.frame[d.features].to_numpy() * np.repeat(b.beta[:, :2], 5, 0)).sum(1)
                - np.repeat(b.beta[:, 2], 5)
            )
            ** 2
        ),
    )
    with pytest.raises(ValueError, match="different sizes"):
        from_frame_arrays(np.zeros((3, 2)), np.zeros(3), np.array([0, 0, 1]))


@pytest.mark.keras
@pytest.mark.parametrize(
    "kind, extra",
    [
        ("deepsets", {}),
        ("set_transformer", {}),
        ("set_transformer", {"pooling": "attention"}),
        ("moments", {}),
        ("moments", {"linear_in_y": True}),
        ("deepsets", {"linear_in_y": True}),
        ("unrolled", {}),
    ],
)
def test_set_encoders_are_permutation_invariant(kind, extra):
    from reglab.training import amortized as am

    enc = am.EncoderSpec(kind=kind, width=8, depth=1, head_width=8, head_depth=1, normalize=True, **extra)
    trained = am.train(
        enc,
        am.TrainSpec(data="fresh", steps=3, batch_size=8, learning_rate=1e-3, condition=Condition(n=12)),
        seed=2,
    )
    ev = study.Evaluation(4, {}, 30)
    perm = ev.permutation_change(trained.coefficients, 3, np.random.default_rng(0))
    assert perm["max"] <= 1e-5


@pytest.mark.keras
def test_the_lstm_depends_on_row_order_and_training_is_deterministic():
    from reglab.training import amortized as am

    enc = am.EncoderSpec(kind="lstm", width=4, depth=1, head_width=4, head_depth=1)
    spec = am.TrainSpec(data="fixed", m=20, epochs=2, batch_size=5, condition=Condition(n=8))
    a, b = am.train(enc, spec, seed=3), am.train(enc, spec, seed=3)
    X = sample(Condition(n=8), 5, np.random.default_rng(1))
    np.testing.assert_array_equal(a.coefficients(X.X, X.y), b.coefficients(X.X, X.y))
    ev = study.Evaluation(4, {}, 30)
    assert ev.permutation_change(a.coefficients, 2, np.random.default_rng(0))["max"] > 1e-4


@pytest.mark.keras
def test_one_encoder_job_end_to_end():
    from reglab.data import datasets

    d = datasets.amortized(m=20, n=10, d=3, coef_scale=100.0, noise_max=5.0, seed=1)
    fixed = study.training_batch(d.frame, d.features, d.target, d.truth)
    entry = {
        "kind": "moments",
        "linear_in_y": True,
        "normalize": True,
        "data": "fresh",
        "steps": 40,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "train_n": [6, 20],
        "head_width": 16,
        "head_depth": 1,
    }
    evaluation = {"m": 40, "permutations": 2, "factors": {"n": [6], "noise_max": [0]}}
    doc, table, history = amortized_encoder.run_encoder(
        "moments", entry, evaluation=evaluation, seed=9, fixed=fixed
    )
    assert set(table["condition"]) == {"seed", "n=6", "noise_max=0"}
    assert doc["floor_loss"] == pytest.approx(table.set_index("condition").loc["seed", "floor"])
    assert doc["eval_loss"] >= doc["floor_loss"] and doc["permutation"]["max"] <= 1e-5
    assert len(history) >= 1 and doc["steps_run"] == 40
    refs, ref_table = study.run_references(evaluation=evaluation, seed=9)
    # the reference job sees the same held-out datasets as the encoder job
    assert refs["references"]["ols"]["loss"] == pytest.approx(doc["floor_loss"], rel=1e-12)
    assert set(refs["floor_fits"]) == {"seed", "n=6", "noise_max=0"}
    assert refs["floor_fits"]["seed"]["correct_digits_metric"] == "lre_componentwise"
    summary, merged = study.summarize({"moments": doc}, refs, [table, ref_table])
    assert summary["best_encoder"] == "moments" and len(merged) == len(table) + len(ref_table)


@pytest.mark.keras
@pytest.mark.parametrize(
    "loss, units", [("supervised", "raw"), ("supervised", "normalized"), ("unsupervised", "normalized")]
)
def test_supervised_and_normalized_losses_train_towards_ols(loss, units):
    from reglab.training import amortized as am

    enc = am.EncoderSpec(kind="moments", head_width=16, head_depth=1, normalize=True)
    spec = am.TrainSpec(
        data="fresh",
        steps=150,
        batch_size=64,
        learning_rate=1e-2,
        loss=loss,
        loss_units=units,
        condition=Condition(n=30),
    )
    trained = am.train(enc, spec, seed=4)
    ev = study.Evaluation(5, {}, 200)
    first, last = trained.history[0]["val_loss"], trained.history[-1]["val_loss"]
    assert last < first
    b = ev.batches["seed"]
    loss_enc = batched.mse(b.X, b.y, trained.coefficients(b.X, b.y)).mean()
    assert loss_enc < batched.mse(b.X, b.y, batched.intercept_only(b.y, 3)).mean()


# --------------------------------------------------------------------------- the self-refining encoder


def _perturbed_inverse(G, rel, seed=0):
    """An inverse of each standardized Gram accurate to about ``rel`` (relative, entrywise noise)."""
    exact = np.linalg.inv(G)
    P = exact * (1.0 + rel * np.random.default_rng(seed).standard_normal(exact.shape))
    return lambda _G, u: np.einsum("mij,mj->mi", P, u)


def test_refinement_with_an_approximate_inverse_reaches_ols_and_flags_what_does_not_contract(batch):
    beta_ols = batched.ols(batch.X, batch.y)
    _, _, sx, G = batched.standardized(batch.X)
    ref = batched.refine(batch.X, batch.y, np.zeros_like(beta_ols), _perturbed_inverse(G, 0.05), passes=12)
    err = [np.max(np.abs(b - beta_ols) / np.maximum(np.abs(beta_ols), 1.0)) for b in ref.betas]
    assert err[0] > 0.99 and err[-1] < 1e-9  # from β = 0 to least squares
    assert all(b < 0.2 * a for a, b in zip(err[1:7], err[2:8], strict=True))  # each pass contracts
    assert np.nanmax(ref.contraction) < 0.5
    # an "inverse" 2.5 times too large overshoots: I − N·G has eigenvalue −1.5, the passes diverge
    too_big = lambda _G, u: 2.5 * np.einsum("mij,mj->mi", np.linalg.inv(G), u)  # noqa: E731
    bad = batched.refine(batch.X, batch.y, beta_ols + 1.0, too_big, passes=3)
    assert np.all(bad.contraction >= 1.0)


def test_refinement_of_an_exact_answer_stays_put_and_one_pass_of_the_exact_inverse_solves(batch):
    beta_ols = batched.ols(batch.X, batch.y)
    _, _, _, G = batched.standardized(batch.X)
    exact = lambda _G, u: np.linalg.solve(G, u[..., None])[..., 0]  # noqa: E731
    one = batched.refine(batch.X, batch.y, np.zeros_like(beta_ols), exact, passes=1)
    np.testing.assert_allclose(one.betas[-1], beta_ols, rtol=1e-9, atol=1e-9)
    stay = batched.refine(batch.X, batch.y, beta_ols, _perturbed_inverse(G, 0.1), passes=2)
    np.testing.assert_allclose(stay.betas[-1], beta_ols, rtol=1e-12, atol=1e-9)


def test_standard_errors_match_statsmodels_and_an_exact_inverse_gives_the_same(batch):
    sm = pytest.importorskip("statsmodels.api")
    beta = batched.ols(batch.X, batch.y)
    se = batched.standard_errors(batch.X, batch.y, beta)
    for i in range(3):
        np.testing.assert_allclose(se[i], sm.OLS(batch.y[i], batch.X[i]).fit().bse, rtol=1e-10)
    _, _, _, G = batched.standardized(batch.X)
    np.testing.assert_allclose(
        batched.standard_errors(batch.X, batch.y, beta, np.linalg.inv(G)), se, rtol=1e-9
    )
    # the refined inverse of a 10%-accurate one converges to the exact inverse
    V = batched.refine_inverse(G, _perturbed_inverse(G, 0.1), passes=25)
    np.testing.assert_allclose(V, np.linalg.inv(G), rtol=1e-8, atol=1e-10)


def test_large_conditions_get_fewer_datasets_and_costly_encoders_skip_them():
    ev = study.Evaluation(3, {"n": [5, 1000]}, 50, max_rows=10_000)
    assert ev.m == {"seed": 50, "n=5": 50, "n=1000": 10}
    assert ev.batches["n=1000"].X.shape == (10, 1000, 3)
    skipped = ev.affordable(lambda n: n * n, max_flops=1e6)  # quadratic in n, like attention
    assert list(skipped) == ["n=1000"] and "max_flops" in skipped["n=1000"]
    table = ev.table("ols", "reference", "reference", batched.ols, skip=skipped)
    assert set(table["condition"]) == {"seed", "n=5"}


def test_refine_needs_a_normalized_moments_encoder():
    from reglab.training import amortized as am

    with pytest.raises(ValueError, match="refine 2: .*moments"):
        am.EncoderSpec(kind="deepsets", normalize=True, refine=2)
    with pytest.raises(ValueError, match="normalize"):
        am.EncoderSpec(kind="moments", refine=1)


@pytest.mark.keras
def test_flop_count_of_a_moments_encoder_matches_its_dense_kernels():
    from reglab.training import amortized as am

    enc = am.EncoderSpec(kind="moments", head_width=16, head_depth=2, normalize=True, refine=3)
    model = am.build(enc, 3, seed=1)
    head = sum(2 * int(np.prod(w.shape)) for w in model.weights if w.path.endswith("kernel"))
    n, d = 100, 3
    moments = 2 * n * (d * (d + 1) // 2 + d)
    passes = 3 * (2 * n * d + 2 * n * (d - 1) + 2 * head)
    assert am.flops(enc, d, n) == moments + head + passes


@pytest.mark.keras
def test_a_refined_encoder_job_contracts_towards_ols_and_reports_its_passes():
    entry = {
        "kind": "moments",
        "normalize": True,
        "data": "fresh",
        "steps": 300,
        "batch_size": 64,
        "learning_rate": 3e-3,
        "lr_decay": True,
        "train_n": [8, 100],
        "head_width": 32,
        "head_depth": 2,
        "refine": 4,
    }
    evaluation = {"m": 60, "permutations": 2, "factors": {"coef_scale": [1e6], "noise_max": [0]}}
    doc, table, _ = amortized_encoder.run_encoder("refined", entry, evaluation=evaluation, seed=3, fixed=None)
    by = doc["refine"]["by_condition"]
    assert doc["refine"]["passes"] == 4 and len(doc["refine"]["flops_per_dataset"]) == 5
    for key in ("seed", "coef_scale=1000000.0"):
        pct = by[key]["excess_pct"]
        assert len(pct) == 5 and pct[-1] < 1e-3 * pct[0], (key, pct)
        assert by[key]["contraction_median"] < 1.0
    se = by["seed"]["se_err_pct_median"]  # the residual variance of the (refined) fit, the inverse refined
    assert se["refined"] < min(1e-3, se["learned"])
    assert (
        by["noise_max=0"]["excess_pct"] == [None] * 5
        and by["noise_max=0"]["se_err_pct_median"]["learned"] is None
    )
    # the artifact's headline numbers are the refined answer's
    assert doc["excess_pct"] == pytest.approx(by["seed"]["excess_pct"][-1])
    assert doc["permutation"]["max"] < 1e-8 and doc["skipped_conditions"] == {}  # float32 alone: ~1e-7
