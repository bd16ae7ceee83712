"""TensorFlow set-up shared by every trainer: quiet logs, the TensorFlow Keras backend, op
determinism, thread counts, an exit that does not collect TensorFlow's objects. TensorFlow is imported
lazily, on first use."""

from __future__ import annotations

import os
import warnings

from reglab.core.logs import freeze_heap_at_exit
from reglab.core.timing import phase

# Set before TensorFlow is first imported: its C++ start-up banners (oneDNN, CPU features) are
# noise in job logs, and Keras must use the TensorFlow backend.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

_READY = False


def configure_threads(n: int | None) -> None:
    """Set TensorFlow's intra- and inter-op thread counts to ``n``.

    Safe to call first (before anything touched TensorFlow) and idempotent; once the
    TensorFlow runtime is initialised the counts can no longer change, so a later call
    with a different ``n`` only warns.
    """
    if n is None:
        return
    if int(n) < 1:
        raise ValueError(f"threads must be >= 1 or None, got {n!r}")
    n = int(n)
    tf, _ = tensorflow()

    cur = (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )
    if cur == (n, n):
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:
        warnings.warn(
            f"TensorFlow is already initialised with intra/inter-op threads {cur}; "
            f"cannot change them to {n}. Call configure_threads() before any training.",
            RuntimeWarning,
            stacklevel=2,
        )


def tensorflow():
    """Import TensorFlow + Keras once, with op determinism on; returns (tf, keras)."""
    global _READY
    with phase("tensorflow"):
        import tensorflow as tf  # noqa: I001  (TensorFlow before Keras)
        import keras

    if not _READY:
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                f"reglab's trainers need the TensorFlow Keras backend, found "
                f"{keras.backend.backend()!r} (set KERAS_BACKEND=tensorflow)"
            )
        tf.config.experimental.enable_op_determinism()
        freeze_heap_at_exit()  # a process with TensorFlow loaded spends ~1 s collecting at exit without it
        _READY = True
    return tf, keras
