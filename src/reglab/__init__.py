"""reglab: measured answers to the questions people ask when they fit regressions with neural-network tools.

The library holds all the science; Snakemake rules call it through thin adapters in ``scripts/``.
Nothing here imports snakemake, and only :mod:`reglab.training.keras_train` imports TensorFlow.
"""

__version__ = "0.1.0"
