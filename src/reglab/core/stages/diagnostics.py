"""The multicollinearity diagnostics stage: results/diagnostics/<dataset>.json."""

from reglab.core.stages import Stage

STAGE = Stage("diagnostics")
