"""The least-squares core: one vocabulary and one rule for each concept every path shares.

* :mod:`.design` -- the one design object (``X``, ``y``, names, intercept), validated once at the
  boundary with the messages every path shares;
* :mod:`.inference` -- standard errors, residual SD, R², VIFs and the condition number from a triangular
  factor (Householder R, Cholesky of a scaled Gram, merged TSQR R);
* :mod:`.digits` -- correct digits: the NIST log relative error, componentwise (``lre``);
* :mod:`.rank` -- the one rank rule (columns of [X, 1] scaled by the nearest power of two, a singular
  value counts when it exceeds ``max(n, m) * eps * sigma_1``), applied to whatever factor a path has;
* :mod:`.exact` -- the exact rational least-squares solution of float64 data (the reference);
* :mod:`.dd` -- double-double residuals (error-free transformations) for iterative refinement;
* :mod:`.result` -- the result vocabulary every artifact that holds a fit uses (``coef`` keyed by
  feature name, ``intercept``, ``se``, ``r2``, ``residual_sd``, ``dof``, ``rank``, named condition
  numbers, ``correct_digits`` with its metric).

Imports numpy, scipy and the standard library only: the exact least-squares jobs' code digests cover it,
and it must never reach TensorFlow.
"""

__all__ = ["dd", "design", "digits", "exact", "inference", "rank", "result"]
