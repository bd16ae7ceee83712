"""The bottom layer: artifact I/O (``io``), logging (``logs``), seeds (``rng``), config checks
(``config``), each stage's own checks and artifact kind (``stages``), selecting records (``select``),
number formatting (``numbers``) and small statistics (``stats``).

It imports nothing of reglab above it (and neither TensorFlow nor matplotlib); every other layer may
import it.  Submodules are not imported here: ``from reglab.core import io`` loads only what ``io`` needs.
"""

__all__ = ["config", "io", "logs", "numbers", "provenance", "rng", "select", "stages", "stats"]
