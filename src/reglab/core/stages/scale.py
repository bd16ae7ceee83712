"""The scale stage (streamed and sharded exact least squares): results/scale/<dataset>.json."""

from reglab.core.stages import Stage

STAGE = Stage("scale")
