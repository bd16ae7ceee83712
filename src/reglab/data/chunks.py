"""What a streaming pass reads: the shapes both sides of it agree on, in the lower layer both can see.

The readers (:mod:`reglab.data.large`) produce chunks, optionally into reused buffers; the pass
scheduler and the statistics (:mod:`reglab.linalg.streaming`) consume them.  These protocols are the
whole contract between the two: a chunk, a source that reads chunk ``k`` on any thread, and the pool
of buffers a pass gives spent chunks back to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Buffers", "Chunk", "IndexedSource", "Part"]

#: one chunk: ``X`` (m, p), ``y`` (m,) and the 0-based number of its first data row
Chunk = tuple[np.ndarray, np.ndarray, int]
#: a part of a stream: called, it yields the part's chunks in row order
Part = Callable[..., Iterable[Chunk]]


class Buffers(Protocol):
    """Reused chunk buffers (:class:`reglab.data.large.BufferPool`): a chunk read into one is given back
    once its statistic is folded; ``offset`` (None, or one value per column read) is subtracted while
    reading, and :meth:`offset_of` says which offset a chunk's buffer holds."""

    offset: np.ndarray | None

    def take(self, rows: int, cols: int) -> np.ndarray: ...

    def give(self, array: np.ndarray) -> None: ...

    def offset_of(self, array: np.ndarray) -> np.ndarray | None: ...


@runtime_checkable
class IndexedSource(Protocol):
    """A source read by chunk index from any thread (:class:`reglab.data.large.RowGroups`), so a pass
    reads several chunks at once; a plain iterable of chunks is read by one thread at a time."""

    def __len__(self) -> int: ...

    def read(self, k: int, pool: Buffers | None = None) -> Chunk: ...
