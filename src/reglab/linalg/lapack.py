"""The one SVD of the library: LAPACK ``gesdd``, falling back to ``gesvd`` when it fails to converge."""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

__all__ = ["svd"]


def svd(
    a: np.ndarray, *, full_matrices: bool = False, check_finite: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SVD ``a = U diag(s) Vt`` of an ``(m, k)`` array, as :func:`scipy.linalg.svd` returns it: ``(U, s, Vt)``
    with ``s`` descending of length ``min(m, k)``; thin unless ``full_matrices``.

    ``gesdd`` very rarely fails to converge; ``gesvd`` is slower but robust.
    """
    try:
        return sla.svd(a, full_matrices=full_matrices, lapack_driver="gesdd", check_finite=check_finite)
    except np.linalg.LinAlgError:  # pragma: no cover - rare gesdd convergence failure
        return sla.svd(a, full_matrices=full_matrices, lapack_driver="gesvd", check_finite=check_finite)
