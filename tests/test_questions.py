"""Seed-question modules: reproduction rows (criteria, verdicts, sources), plain answers, findings, and the
config-time warning for a run a question reads but the config lacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reglab import questions
from reglab.data import datasets
from reglab.questions import COLUMNS, Artifacts
from reglab.questions.base import resolve, within_decade
from reglab.questions.seed001 import seed_001
from reglab.questions.seed002 import study_seed002
from reglab.questions.seed003 import balloons_population_mse


def build_table(keras, closed, studies=None):
    return questions.build_table(
        Artifacts({"keras": keras, "closed_form": closed, "convergence": studies or {}})
    )


def test_population_mse_matches_monte_carlo():
    d = datasets.balloons(n=400_000, validation_fraction=0.1, seed=11)
    f = d.frame
    for w in [(0.9, 0.15), (0.43457505, 0.1423042), (0.0, 0.0)]:
        pred = w[0] * f["children"] + w[1] * f["age"]
        mc = float(np.mean((f["num_balloons"] - pred) ** 2))
        assert balloons_population_mse(*w) == pytest.approx(mc, rel=0.01)


def test_population_minimum_is_the_group_average():
    # the least-squares projection is the average of the two groups' slopes
    best = balloons_population_mse(0.9, 0.15)
    for dc, da in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert balloons_population_mse(0.9 + dc, 0.15 + da) > best


def test_within_decade():
    assert within_decade(1e-10, 9e-10) and within_decade(2e-4, 1e-4)
    assert not within_decade(1e-10, 1e-12) and not within_decade(0.0, 1.0)


def _adam_doc(lo, med, hi):
    s = {"median": med, "q05": lo, "q95": hi}
    return {
        "summary": {"x1": s, "x2": {"median": 2 - med, "q05": 2 - hi, "q95": 2 - lo}},
        "n_repeats": 50,
        "final_mse_float64": 1e-13,
    }


CLOSED_TOY = {
    "collinear_toy": {
        "solvers": {"lstsq": {"coef": {"x1": 1.0, "x2": 1.0}, "intercept": 0.0, "train_mse": 0.0}}
    }
}


def test_table_has_every_required_row_and_column_even_when_nothing_ran():
    table = build_table({}, {})
    assert list(table.columns) == COLUMNS
    required = {
        ("001", "adam_w1"),
        ("001", "adam_w2"),
        ("002", "fullbatch_sgd_mse_10k"),
        ("002", "minibatch32_sgd_mse_10k"),
        ("002", "minibatch32_sgd_mse_20k"),
        ("002", "numpy_mse"),
        ("002", "small_fullbatch_sgd_mse_10k"),
        ("003", "linear_w_relationship"),
        ("003", "linear_w_children"),
        ("003", "linear_w_age"),
        ("003", "linear_val_loss"),
        ("003", "mlp_regression_val_loss"),
        ("003", "logistic_w_relationship"),
        ("003", "logistic_w_children"),
        ("003", "logistic_w_age"),
        ("003", "logistic_val_loss"),
        ("003", "mlp_classification_val_loss"),
    }
    assert required <= set(zip(table["document"], table["quantity"]))
    assert table["verdict"].str.startswith("not run").all()


def test_001_verdict_follows_the_range():
    inside = build_table({"s001_adam": _adam_doc(1.05, 1.11, 1.18)}, CLOSED_TOY)
    row = inside[inside["quantity"] == "adam_w1"].iloc[0]
    assert row["verdict"].startswith("reproduced") and row["reglab"] == 1.11 and row["reference"] == 1.0
    outside = build_table({"s001_adam": _adam_doc(0.99, 1.0, 1.01)}, CLOSED_TOY)
    assert outside[outside["quantity"] == "adam_w1"].iloc[0]["verdict"].startswith("differs")


def test_002_order_of_magnitude():
    keras = {
        "s002_fullbatch_f32_10k": {"final_mse_float64": 3e-4},
        "s002_minibatch32_f32_10k": {"final_mse_float64": 5e-8},
    }
    t = build_table(keras, {"underdetermined": {"solvers": {"lstsq": {"train_mse": 1e-30}}}}).set_index(
        "quantity"
    )
    assert t.loc["fullbatch_sgd_mse_10k", "verdict"].startswith("reproduced")
    assert t.loc["minibatch32_sgd_mse_10k", "verdict"].startswith("differs")
    assert t.loc["numpy_mse", "verdict"].startswith("reproduced")


def _summary(mn=1.0):
    return {"median": mn, "q05": mn - 0.05, "q95": mn + 0.05}


KERAS_001 = {
    "s001_adam": {
        "dataset": "collinear_toy",
        "summary": {"x1": _summary(1.117), "x2": _summary(0.883), "intercept": _summary(0.117)},
        "spec": {"learning_rate": 0.1, "epochs": 1000},
        "n_repeats": 100,
        "final_mse_float64": 1.1e-13,
    },
}
DIAG_001 = {
    "collinear_toy": {
        "verdict_class": "not identifiable",
        "rank": 2,
        "n_params": 3,
        "min_norm_solution": {"x1": 1.0, "x2": 1.0, "intercept": 0.0},
    }
}


def test_seed_001_quotes_the_artifacts():
    text = " ".join(seed_001(KERAS_001, {}, DIAG_001))
    assert "rank 2 for 3 parameters" in text and "w1 = 1.12" in text and "100 RandomNormal" in text
    assert "1.1e-13" in text


def test_missing_runs_give_no_paragraph():
    assert all(q.answer(Artifacts()) == [] for q in questions.QUESTIONS)


def test_seed002_study_answer_uses_theory_and_measurement():
    run = {
        "solver": "keras_sgd",
        "family": "keras",
        "optimizer": "sgd",
        "batch_size": None,
        "dtype": "float64",
        "repeat": 0,
        "learning_rate": 0.01,
        "epochs_run": 100000,
        "diverged": False,
        "time_to_tolerance": {"reached": True, "epochs": 76866, "seconds": 20.0, "best": 7e-13},
        "predicted_steps": 76866,
        "loss_at": {"10000": 2.7e-4},
        "predicted_loss_at": {"10000": 2.7e-4},
        "implicit_bias_distance": 1e-5,
    }
    summary = {
        "tolerance": {"metric": "mse", "value": 1e-10},
        "runs": [run],
        "theory": {
            "raw": {
                "spectrum": {
                    "lambda_max": 149.0,
                    "lambda_min_nonzero": 0.0103,
                    "rank": 200,
                    "condition_number": 1.45e4,
                    "stability_limit": 0.0134,
                }
            }
        },
    }
    text = " ".join(study_seed002(summary))
    assert "2/λmax = 0.0134" in text and "predicts 76866 steps" in text and "after 76866 epochs" in text
    assert "about 8x too few" in text
    assert questions.study_answer("seed002", summary) == study_seed002(summary)
    assert "1/1 runs reached mse 1e-10." in questions.study_answer("other", summary)
    # the steps rows point into the study's summary at the run they read
    art = Artifacts({"convergence": {"seed002": summary}})
    rows = {r.quantity: r for r in questions.build_rows(art)["002"]}
    measured = rows["steps_to_1e-10_measured"]
    assert measured.reglab == 76866.0
    assert measured.source == "results/convergence/seed002/summary.json#/runs/0/time_to_tolerance/epochs"


def test_every_reported_value_has_a_source_that_resolves_to_it():
    art = Artifacts({"keras": KERAS_001, "closed_form": CLOSED_TOY})
    table = questions.build_table(art)
    assert list(table.columns) == COLUMNS
    for _, row in table.iterrows():
        if row["reglab"] is None or (isinstance(row["reglab"], float) and np.isnan(row["reglab"])):
            assert row["source"] == ""
            continue
        path, ptr = row["source"].split("#")
        kind = "keras" if "/keras/" in path else "closed_form"
        key = Path(path).stem
        assert resolve(art.docs[kind][key], ptr) == row["reglab"], row["quantity"]


def test_pointer_escapes_per_rfc6901():
    from reglab.questions.base import pointer

    assert pointer("a/b", "m~n", 0) == "/a~1b/m~0n/0"
    assert resolve({"a/b": {"m~n": [7]}}, pointer("a/b", "m~n", 0)) == 7


def test_findings_one_per_question_and_two_for_seed_001():
    found = questions.findings(
        Artifacts({"keras": KERAS_001, "closed_form": CLOSED_TOY, "diagnostics": DIAG_001})
    )
    sections = [f.section for f in found]
    assert sections.count("seed-001") == 2
    assert {f"seed-{q.doc_id}" for q in questions.QUESTIONS} == set(sections)
    toy = next(f for f in found if f.section == "seed-001")
    assert toy.value == 1.117 and toy.article == 1.15 and toy.verdict == "reproduced"
    assert toy.source.endswith("s001_adam.json#/summary/x1/median")
    assert all(f.verdict == "not run" for f in found if f is not toy)


def test_missing_run_warning_is_one_line_per_asked_question_naming_what_it_lacks():
    config = {
        "questions": "all",
        "datasets": {"collinear_toy": {}},
        "keras": {"runs": {"s001_adam": {"dataset": "collinear_toy"}}},
        "convergence": {"studies": {}},
    }
    warnings = questions.missing_inputs(config)
    assert [w[:8] for w in warnings] == [f"seed {q.doc_id}" for q in questions.QUESTIONS]  # one each
    sgd = [w for w in warnings if "'s001_sgd'" in w]
    assert len(sgd) == 1 and sgd[0].startswith("seed 001 (") and "Keras run 's001_sgd'" in sgd[0]
    assert not any("'s001_adam'" in w for w in warnings)
    assert any("'underdetermined'" in w and w.startswith("seed 002") for w in warnings)
    # a study that asks one question is warned about that one; one that asks none, about none
    assert [w[:8] for w in questions.missing_inputs({**config, "questions": ["002"]})] == ["seed 002"]
    assert questions.missing_inputs({k: v for k, v in config.items() if k != "questions"}) == []


def test_a_study_asks_the_questions_it_names():
    assert questions.asked({}) == () and questions.asked({"questions": "all"}) == questions.QUESTIONS
    assert [q.doc_id for q in questions.asked({"questions": ["004", "001"]})] == ["001", "004"]
    with pytest.raises(ValueError, match=r"unknown seed question\(s\) \['007'\]"):
        questions.asked(["007"])
    config = {"datasets": {"fuel": {}}, "keras": {"runs": {"s004_sgd_raw": {}}}}
    assert questions.reads(config)["datasets"] == []  # asks nothing: reads nothing
    assert questions.reads({**config, "questions": ["004"]})["datasets"] == ["fuel"]


def test_reads_are_the_declared_inputs_that_the_config_has():
    config = {
        "questions": "all",
        "datasets": {"fuel": {}, "mine": {}},
        "keras": {"runs": {"s004_sgd_raw": {}, "other": {}}},
        "convergence": {"studies": {"seed004": {}, "x": {}}},
    }
    assert questions.reads(config) == {
        "datasets": ["fuel"],
        "runs": ["s004_sgd_raw"],
        "studies": ["seed004"],
        "encoders": [],
        "scale": [],
    }


def test_a_users_own_datasets_runs_and_studies_get_findings_with_sources():
    from reglab.questions import own

    docs = {
        "diagnostics": {
            "mine": {
                "verdict_class": "near-collinear",
                "rank": 3,
                "n_params": 3,
                "condition_scaled": 456.0,
                "target": "y",
            },
            "fuel": {"verdict_class": "identifiable", "rank": 4, "n_params": 4, "condition_scaled": 24.0},
        },
        "closed_form": {
            "mine": {"targets": {"y": {"least_squares": {"recommended": "refined", "correct_digits": 15.5}}}}
        },
        "keras": {
            "my_run": {
                "dataset": "mine",
                "distance": {"closed_form": 0.25},
                "diverged": False,
                "epochs_run": 7,
            },
            "bad_run": {
                "dataset": "mine",
                "distance": {"closed_form": 9e9},
                "diverged": True,
                "n_diverged": 2,
                "n_repeats": 3,
            },
        },
        "convergence": {
            "my_study": {
                "tolerance": {"metric": "mse", "value": 1e-6},
                "runs": [
                    {
                        "family": "reference",
                        "solver": "cg",
                        "time_to_tolerance": {"reached": True, "seconds": 0.0},
                    },
                    {
                        "family": "keras",
                        "optimizer": "sgd",
                        "learning_rate": 0.1,
                        "batch_size": 8,
                        "time_to_tolerance": {"reached": True, "seconds": 2.0, "epochs": 9},
                    },
                    {
                        "family": "keras",
                        "optimizer": "adam",
                        "learning_rate": 0.1,
                        "batch_size": 8,
                        "time_to_tolerance": {"reached": True, "seconds": 1.5, "epochs": 30},
                    },
                ],
            }
        },
    }
    art = questions.Artifacts(docs)
    found = own.findings(art, questions.asked(["004"]))  # seed 004 reads fuel: not a finding of one's own
    by = {f.question: f for f in found}
    assert [f.section for f in found] == ["dataset-mine", "keras-mine", "keras-mine", "study-my_study"]
    mine = by["Does dataset mine have one least-squares answer?"]
    assert (
        mine.verdict == "near-collinear"
        and mine.value == 456.0
        and "refined keeps 15.5 correct digits" in mine.answer
    )
    assert mine.source == "results/diagnostics/mine.json#/condition_scaled"
    assert by["How close does Keras run bad_run get to the closed form?"].verdict == "diverged"
    study = by["Which optimizer reaches mse ≤ 1e-06 first in study my_study?"]
    # the reference solver is a yardstick, not a candidate: adam is first among the trained runs
    assert study.answer.startswith("adam") and study.value == 1.5
    assert study.source == "results/convergence/my_study/summary.json#/runs/2/time_to_tolerance/seconds"
    assert own.findings(questions.Artifacts({}), questions.asked("all")) == []


def _refined_artifacts(worst_final):
    """Seed 000's artifacts with a moments_mlp and a self-refining encoder (5 passes) on four conditions."""
    conds = {"seed": {"n": 100}, "n=5": {"n": 5}, "n=10": {"n": 10}, "n=1000": {"n": 1000}}

    def cond(pcts, se=0.4):
        return {
            "datasets": 100,
            "excess_pct": pcts,
            "excess_mean": [p / 100 for p in pcts],
            "slope_rel_err_median": [0.0] * len(pcts),
            "step_median": [0.0] * (len(pcts) - 1),
            "contraction_median": 0.03,
            "contraction_p95": 0.2,
            "not_contracting": 3,
            "se_err_pct_median": {"learned": se, "refined": 1e-9},
        }

    refine = {
        "passes": 5,
        "flops_per_dataset": [1000, 2000, 3000, 4000, 5000, 6000],
        "by_condition": {
            "seed": cond([0.7, 1e-4, 1e-8, 1e-11, 1e-14, 1e-15]),
            "n=5": cond([300.0, 70, 30, 20, 12, 8]),
            "n=10": cond([30.0, 3, 1, 0.5, 0.2, 0.1]),
            "n=1000": cond([0.3, 1e-4, 1e-8, 1e-11, 1e-12, worst_final], se=0.8),
        },
    }
    base = {"params": 100, "train_seconds": 8.0, "flops_per_dataset": 500, "permutation": {"max": 1e-14}}
    mlp = {**base, "kind": "moments", "spec": {"encoder": {}}, "conditions": {"seed": {"excess_pct": 0.08}}}
    refined = {**base, "kind": "moments", "spec": {"encoder": {"refine": 5}}, "refine": refine}
    refined["conditions"] = {"seed": {"excess_pct": 1e-15}}
    refs = {"conditions": conds}
    return Artifacts({"amortized": {"moments_mlp": mlp, "moments_refined": refined, "references": refs}})


def test_000_refined_rows_take_the_worst_condition_with_n_of_at_least_30_and_say_whether_targets_hold():
    from reglab.questions.seed000 import built_in, refined_rows

    rows = {r.quantity: r for r in refined_rows(_refined_artifacts(3e-9))}
    worst = rows["refined_worst_n30_excess_pct"]
    assert worst.reglab == 3e-9 and "n=1000" in worst.verdict and "met" in worst.verdict
    assert worst.source.endswith("#/refine/by_condition/n=1000/excess_pct/5")
    assert rows["refined_n10_excess_pct"].reglab == 0.1 and "met" in rows["refined_n10_excess_pct"].verdict
    se = rows["refined_worst_n30_se_err_pct"]  # the worst of 0.4% and 0.8%, in % as its artifact has it
    assert se.reglab == 0.8 and se.source.endswith("#/refine/by_condition/n=1000/se_err_pct_median/learned")
    missed = {r.quantity: r for r in refined_rows(_refined_artifacts(2e-6))}["refined_worst_n30_excess_pct"]
    assert "missed" in missed.verdict
    table = built_in(_refined_artifacts(3e-9))
    assert [r["name"] for r in table] == ["moments_mlp"] + [f"moments_refined K={k}" for k in (0, 1, 2, 3, 5)]
    k3 = table[4]
    assert k3["flops"] == 4000 and k3["conditions"]["n=10"]["value"] == 0.5
    assert k3["conditions"]["n=10"]["source"].endswith("by_condition/n=10/excess_pct/3")
