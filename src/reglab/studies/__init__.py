"""Convergence studies (``convergence``): Keras optimizers beside reference solvers and theory.

May import :mod:`reglab.core`, :mod:`reglab.data`, :mod:`reglab.linalg` and :mod:`reglab.training`.
Submodules are not imported here.
"""

__all__ = ["amortized", "convergence"]
