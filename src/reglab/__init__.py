"""reglab: measured answers to the questions people ask when they fit regressions with neural-network tools.

The library holds all the science; Snakemake rules call it through thin adapters in ``scripts/``.
Nothing here imports snakemake, and only :mod:`reglab.training.keras_train` imports TensorFlow.

From Python: ``reglab.fit``, ``reglab.diagnose``, ``reglab.fit_stream`` (see :mod:`reglab.api`), loaded
on first use: importing ``reglab`` loads nothing else, so the pipeline jobs' code digests (the import
closure of each script) do not cover the API.
"""

# a job's clock (reglab.core.timing) starts at its first reglab import: the standard library only, ~0 s
from reglab.core import timing as _timing  # noqa: F401

__version__ = "0.1.0"
__all__ = ["Diagnosis", "Fit", "diagnose", "fit", "fit_stream"]


def __getattr__(name: str):  # PEP 562: the API is imported when first asked for
    if name in __all__:
        # by name, not by an import statement: the code digests follow import statements
        # (reglab.core.provenance.import_closure), and no pipeline job runs the API
        import importlib

        return getattr(importlib.import_module("reglab.api"), name)
    raise AttributeError(f"module 'reglab' has no attribute {name!r}")
