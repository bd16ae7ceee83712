"""The one definition of divergence, from the loss itself."""

from __future__ import annotations

import math

from reglab.core.stats import divergence


def test_a_loss_that_explodes_while_finite_has_diverged_at_its_first_huge_epoch():
    # the convergence-study case: 3e7 to 6e20 in five epochs, never NaN
    assert divergence([3e7, 4e9, 6e12, 8e16, 6e20], baseline=3e7) == (3, None)
    # the raw Keras run: 1e12 after epoch 1, float32 overflow only at epoch 5
    assert divergence([1e12, 1e20, 1e28, 1e36, math.inf], baseline=6.6e4) == (1, 5)


def test_a_loss_that_keeps_growing_above_the_zero_model_has_diverged_where_it_began():
    losses = [5.0, 3.0, 2.0, 2.5, 3.5, 6.0, 9.0, 14.0]  # rises from epoch 4 on, five times, ends above 10
    assert divergence(losses, baseline=10.0) == (4, None)
    assert divergence(losses[:7], baseline=10.0) == (None, None)  # four rises only


def test_a_converging_or_noisy_run_has_not_diverged():
    assert divergence([10.0, 5.0, 2.0, 1.0, 0.5], baseline=10.0) == (None, None)
    assert divergence([1.0, 1.1, 0.9, 1.2, 1.0, 1.3, 1.1], baseline=10.0) == (None, None)
    assert divergence([], baseline=1.0) == (None, None)
    assert divergence([1.0, math.nan], baseline=1.0) == (2, 2)


def test_a_trainer_stop_on_a_non_finite_weight_counts_as_non_finite():
    assert divergence([5.0, 4.0, 3.0], baseline=10.0, stopped_at=3) == (3, 3)
    assert divergence([1e12, math.inf], baseline=6.6e4, stopped_at=2) == (1, 2)
