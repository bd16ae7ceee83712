"""Keras training: the compiled trainer that is bit-identical to ``model.fit`` (``keras_train``) and the
config runs with their tidy artifacts (``keras_runs``).

Imports :mod:`reglab.core`, :mod:`reglab.data` and :mod:`reglab.linalg`.  TensorFlow is imported lazily,
on the first training call, never by importing this package or its modules.
"""

__all__ = ["amortized", "keras_runs", "keras_train", "session"]
