"""Figures and tables drawn from artifacts only: the one style (``style``), per-dataset figures
(``datasets``), the Keras stage (``keras``) and the convergence studies (``convergence``).

Imports :mod:`reglab.core`, :mod:`reglab.data` and :mod:`reglab.linalg` only -- never
:mod:`reglab.training` or :mod:`reglab.studies`, so no figure imports TensorFlow, even indirectly.
Submodules are not imported here; importing any of them sets the headless backend and the theme.
"""

__all__ = ["amortized", "convergence", "datasets", "keras", "style"]
