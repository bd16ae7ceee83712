"""Datasets (``datasets``): building, loading and saving the designs every stage fits.

Imports only :mod:`reglab.core`.
"""

__all__ = ["amortized", "datasets", "large"]
