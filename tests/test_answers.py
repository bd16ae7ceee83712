"""Plain answers are written from artifacts: the numbers in the sentences are the artifacts' numbers."""

from __future__ import annotations

from reglab.questions.answers import all_answers, convergence_answers, seed_001, study_seed002


def _summary(mn=1.0):
    return {"median": mn, "q05": mn - 0.05, "q95": mn + 0.05}


KERAS_001 = {
    "s001_adam": {"summary": {"x1": _summary(1.117), "x2": _summary(0.883), "intercept": _summary(0.117)},
                  "spec": {"learning_rate": 0.1, "epochs": 1000}, "n_repeats": 100, "final_mse_float64": 1.1e-13},
}
DIAG_001 = {"collinear_toy": {"verdict_class": "not identifiable", "rank": 2, "n_params": 3,
                              "min_norm_solution": {"x1": 1.0, "x2": 1.0, "intercept": 0.0}}}


def test_seed_001_quotes_the_artifacts():
    text = " ".join(seed_001(KERAS_001, {}, DIAG_001))
    assert "rank 2 for 3 parameters" in text and "w1 = 1.12" in text and "100 RandomNormal" in text
    assert "1.1e-13" in text


def test_missing_runs_give_no_paragraph():
    answers = all_answers({}, {}, {})
    assert answers == {"001": [], "002": [], "003": [], "004": []}


def test_seed002_study_answer_uses_theory_and_measurement():
    run = {"solver": "keras_sgd", "family": "keras", "optimizer": "sgd", "batch_size": None, "dtype": "float64",
           "repeat": 0, "learning_rate": 0.01, "epochs_run": 100000, "diverged": False,
           "time_to_tolerance": {"reached": True, "epochs": 76866, "seconds": 20.0, "best": 7e-13},
           "predicted_steps": 76866, "loss_at": {"10000": 2.7e-4}, "predicted_loss_at": {"10000": 2.7e-4},
           "implicit_bias_distance": 1e-5}
    summary = {"tolerance": {"metric": "mse", "value": 1e-10}, "runs": [run],
               "theory": {"raw": {"spectrum": {"lambda_max": 149.0, "lambda_min_nonzero": 0.0103, "rank": 200,
                                               "condition_number": 1.45e4, "stability_limit": 0.0134}}}}
    text = " ".join(study_seed002(summary))
    assert "2/λmax = 0.0134" in text and "predicts 76866 steps" in text and "after 76866 epochs" in text
    assert "about 8x too few" in text
    generic = convergence_answers({"other": summary})["other"]
    assert "1/1 runs reached mse 1e-10." in generic
