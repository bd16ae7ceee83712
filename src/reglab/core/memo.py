"""The finished files of one unit of work, kept under the digest of everything the unit depends on.

A packed job (several Keras runs, or several convergence groups, in one process: TensorFlow is imported
once) is rerun by Snakemake as a whole when any of its units changes. With a :class:`Memo` it redoes
only the units whose key changed and restores the others' files as they were, so a changed run still
costs only that run's training. The key (:func:`key`) covers the unit's config entry, the seed, the
code digest and the content of its input files; a unit's files are stored only after they were all
written, and the key file last, so a killed job leaves no entry that looks finished.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reglab.core.io import atomic_path
from reglab.core.provenance import digest

_KEY_FILE = "key"


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def key(entry: Any, inputs: Mapping[str, str | os.PathLike[str]], **also: Any) -> str:
    """The digest of a unit's config ``entry``, its ``inputs``' contents (by name) and ``also``."""
    return digest({"entry": entry, "inputs": {k: file_digest(p) for k, p in sorted(inputs.items())}, **also})


def units(
    entries: Mapping[str, Any],
    outputs: Mapping[str, Sequence[str | os.PathLike[str]]],
    inputs: Mapping[str, str | os.PathLike[str]],
    **also: Any,
) -> dict[str, tuple[str, dict[str, str | os.PathLike[str]]]]:
    """A packed job's units for :func:`run_units`: per entry (in order), its :func:`key` (the entry, the
    ``inputs``' contents, ``also``) and its files, ``outputs`` giving one path per entry for each stored
    name (e.g. ``{"doc.json": [...], "history.parquet": [...]}``, Snakemake's output lists)."""
    names = list(entries)
    for stored, paths in outputs.items():
        if len(paths) != len(names):
            raise ValueError(f"{len(names)} units but {len(paths)} '{stored}' outputs")
    return {
        name: (key(entries[name], inputs, **also), {stored: paths[i] for stored, paths in outputs.items()})
        for i, name in enumerate(names)
    }


def said(done: Mapping[str, str]) -> str:
    """The line a packed job's log ends its work with: ``<unit> restored, <unit> computed, ...``."""
    return ", ".join(f"{name} {how}" for name, how in done.items())


class Memo:
    """Units' finished files under ``root/<unit>/`` (one entry per unit: a changed key replaces it)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _dir(self, unit: str) -> Path:
        if not unit or "/" in unit or unit.startswith("."):
            raise ValueError(f"memo unit names a folder under {self.root}: got {unit!r}")
        return self.root / unit

    def restore(self, unit: str, unit_key: str, outputs: Mapping[str, str | os.PathLike[str]]) -> bool:
        """Copy the unit's stored files to ``outputs`` (by name) if its entry has ``unit_key``; else False."""
        where = self._dir(unit)
        try:
            stored = (where / _KEY_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            return False
        if stored != unit_key or not all((where / name).is_file() for name in outputs):
            return False
        for name, dest in outputs.items():
            with atomic_path(dest) as tmp:
                shutil.copyfile(where / name, tmp)
        return True

    def store(self, unit: str, unit_key: str, outputs: Mapping[str, str | os.PathLike[str]]) -> None:
        """Keep copies of the unit's finished ``outputs`` under ``unit_key`` (the key file written last)."""
        where = self._dir(unit)
        where.mkdir(parents=True, exist_ok=True)
        (where / _KEY_FILE).unlink(missing_ok=True)  # the entry is unfinished until its key is back
        for name, src in outputs.items():
            with atomic_path(where / name) as tmp:
                shutil.copyfile(src, tmp)
        with atomic_path(where / _KEY_FILE) as tmp:
            tmp.write_text(unit_key + "\n", encoding="utf-8")


def run_units(
    memo: Memo,
    units: Mapping[str, tuple[str, Mapping[str, str | os.PathLike[str]]]],
    work: Callable[[str], None],
) -> dict[str, str]:
    """For each unit (name -> (key, {stored name: output path})): restore its outputs from ``memo`` when
    its key is unchanged, else call ``work(name)`` (which writes them) and store them. Returns, per unit,
    ``"restored"`` or ``"computed"``, in the order given."""
    done = {}
    for name, (unit_key, outputs) in units.items():
        if memo.restore(name, unit_key, outputs):
            done[name] = "restored"
            continue
        work(name)
        missing = [str(p) for p in outputs.values() if not Path(p).is_file()]
        if missing:
            raise RuntimeError(f"memo unit {name!r}: its work did not write {missing}")
        memo.store(name, unit_key, outputs)
        done[name] = "computed"
    return done
