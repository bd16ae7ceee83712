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
