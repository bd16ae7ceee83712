"""The closed-form stage (every least-squares solver, logistic MLE): results/closed_form/<dataset>.json."""

from reglab.core.stages import Stage

STAGE = Stage("closed_form")
