"""Where an artifact came from: the code and config that produced it, the versions and the machine.

* :func:`code_digest` hashes the import closure of a rule's script inside ``reglab`` plus the versions of
  the numerical packages that closure imports; the workflow passes it to each rule as a param, so an edit
  to the library (or an upgrade of numpy, TensorFlow, ...) reruns exactly the jobs whose code changed.
* :func:`produced_by` is the block every JSON artifact carries; :func:`peak_rss_mb` the memory a job used.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

#: distributions whose versions every produced_by block records
VERSIONED = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "tensorflow",
    "keras",
    "scikit-learn",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "snakemake",
)
#: import name -> distribution names to try (TensorFlow is installed as tensorflow-cpu here)
_DISTRIBUTIONS = {
    "sklearn": ("scikit-learn",),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "yaml": ("pyyaml",),
}


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@lru_cache(maxsize=None)
def version(dist_or_module: str) -> str | None:
    """Installed version of a distribution (or of the distribution providing an import name)."""
    for name in _DISTRIBUTIONS.get(dist_or_module, (dist_or_module,)):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    if dist_or_module == "scikit-learn":
        return version("sklearn")
    return None


def versions(names: Iterable[str] = VERSIONED) -> dict[str, str | None]:
    return {n: version(n) for n in names}


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def digest(obj: Any) -> str:
    """sha256 of :func:`canonical_json` (first 16 hex digits)."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:16]


def _package_root() -> Path:
    spec = importlib.util.find_spec("reglab")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("reglab is not importable: install it (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations)))


class _ImportCache:
    """The module names each source file imports, keyed by the sha256 of its bytes and kept in a JSON
    file between processes: every Snakemake command (and every cluster job) computes the workflow's code
    digests, and parsing the library's sources is most of that. Keyed by content, an entry can only be
    stale by being unused; a missing, unreadable or foreign file is an empty cache."""

    def __init__(self, path: Path | None):
        self.path, self.dirty = path, False
        self.entries: dict[str, list[str]] = {}
        if path is not None:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    self.entries = loaded
            except (OSError, ValueError):
                pass

    def imports(self, source: Path) -> frozenset[str]:
        data = source.read_bytes()
        key = hashlib.sha256(data).hexdigest()
        names = self.entries.get(key)
        if not isinstance(names, list):
            names = sorted(_scan_imports(data, source))
            self.entries[key], self.dirty = names, True
        return frozenset(names)

    def save(self) -> None:
        """Write the entries back (atomically: concurrent jobs each write a whole file) if any is new."""
        if self.path is None or not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.part")
            tmp.write_text(json.dumps(self.entries, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            pass  # a read-only folder: the next process parses again


@lru_cache(maxsize=None)
def _import_cache(path: str | None) -> _ImportCache:
    return _ImportCache(Path(path) if path else None)


def _scan_imports(data: bytes, path: Path) -> set[str]:
    """Every module name imported anywhere in a source file (top level and inside functions)."""
    tree = ast.parse(data, filename=str(path))
    names: set[str] = set()
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _statements(body: list[Any]) -> Iterator[Any]:
    """Every statement in ``body`` and in the blocks nested in it (functions, classes, if/try/with/for/
    match): imports are statements, so the expressions (most of a tree) need not be visited."""
    for node in body:
        yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                yield from _statements(block)


@lru_cache(maxsize=None)
def _module_file(root: Path, name: str) -> Path | None:
    """The source file of reglab module ``name`` under ``root`` (the package folder), if it is one."""
    parts = name.split(".")
    if parts[0] != "reglab":
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def import_closure(
    script: str | os.PathLike[str], root: Path | None = None, cache: str | None = None
) -> tuple[list[Path], set[str]]:
    """reglab source files a script imports, transitively (package ``__init__`` files included), and the
    top-level names of the other packages they import. ``cache``: the file of :class:`_ImportCache`."""
    root = root or _package_root()
    scans = _import_cache(cache)
    seen: dict[Path, None] = {}
    external: set[str] = set()
    todo = [Path(script)]
    while todo:
        path = todo.pop()
        for name in sorted(scans.imports(path)):
            if not name.startswith("reglab"):
                external.add(name.split(".")[0])
                continue
            parts = name.split(".")
            # importing reglab.a.b runs reglab/__init__, reglab/a/__init__ and reglab/a/b
            for k in range(1, len(parts) + 1):
                f = _module_file(root, ".".join(parts[:k]))
                if f is not None and f not in seen:
                    seen[f] = None
                    todo.append(f)
    scans.save()
    return sorted(seen, key=lambda p: p.relative_to(root).as_posix()), external


@lru_cache(maxsize=None)
def code_digest(script: str, root: str | None = None, cache: str | None = None) -> str:
    """Digest of a script's reglab import closure (file names and sources) and of the versions of the
    numerical packages it imports: changes when the code a job runs changes, and only then. ``cache``: a
    file that keeps each source's imports between processes (keyed by content, so never stale)."""
    base = Path(root) if root else _package_root()
    files, external = import_closure(script, base, cache)
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(base).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    numerical = sorted(n for n in external | {"numpy"} if n in {*VERSIONED, "sklearn"})
    h.update(canonical_json({n: version(n) for n in numerical}).encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(where: str | os.PathLike[str]) -> str | None:
    """The commit of the git checkout holding ``where`` (with '+dirty' for uncommitted changes), else None."""
    try:
        run = {"cwd": str(where), "capture_output": True, "text": True, "timeout": 10, "check": True}
        commit = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "") if commit else None


def produced_by(
    *,
    rule: str,
    code: str,
    params: Mapping[str, Any],
    threads: int,
    workflow_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The block every JSON artifact carries: rule, code and config digests, versions, machine, commit."""
    config = {k: v for k, v in params.items() if k != "code"}
    block = {
        "rule": rule,
        "code_digest": code,
        "config_digest": digest(config),
        "versions": versions(),
        "cpu": cpu_model(),
        "threads": int(threads),
    }
    commit = git_commit(workflow_dir) if workflow_dir else None
    if commit:
        block["commit"] = commit
    return block


def stamp(doc: Mapping[str, Any], block: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` with its ``produced_by`` block (placed first)."""
    return {"produced_by": dict(block), **{k: v for k, v in doc.items() if k != "produced_by"}}


def job_block(job: Any, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:func:`produced_by` for a running Snakemake job (duck-typed: ``rule``, ``params``, ``threads``,
    ``scriptdir``), so the adapters stay one line. ``params``: a packed job's unit's own config slice
    instead of the job's (its config digest is then the one the unit's own job would record)."""
    own = dict(job.params.items())
    return produced_by(
        rule=job.rule,
        code=own.get("code", ""),
        params=own if params is None else dict(params),
        threads=job.threads,
        workflow_dir=Path(job.scriptdir).parent,
    )
