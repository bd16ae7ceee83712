"""Numerical linear algebra in float64: closed-form solvers (``solvers``, ``closed_form``), identifiability
diagnostics (``diagnostics``), gradient-descent theory (``theory``), reference optimisers
(``reference_solvers``), the shared SVD (``lapack``) and input checks (``validate``).

Imports only :mod:`reglab.core` and :mod:`reglab.data`; never TensorFlow or Keras.  Submodules are not
imported here (statsmodels and scikit-learn load only with the solvers that need them).
"""

__all__ = [
    "batched",
    "closed_form",
    "diagnostics",
    "lapack",
    "reference_solvers",
    "solvers",
    "streaming",
    "theory",
    "validate",
]
