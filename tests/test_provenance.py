"""The code digests' import cache: reused across processes, keyed by content, never trusted blindly."""

import hashlib
import json

from reglab.core import provenance


def _package(tmp_path, body_b: str):
    root = tmp_path / "pkg" / "reglab"
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "a.py").write_text("from reglab import b\n")
    (root / "b.py").write_text(body_b)
    (root / "c.py").write_text("X = 1\n")
    script = tmp_path / "script.py"
    script.write_text("import reglab.a\n")
    return root, script


def _closure(script, root, cache):
    provenance._import_cache.cache_clear()  # a new process
    files, _ = provenance.import_closure(script, root, str(cache))
    return sorted(f.name for f in files)


def test_the_cache_is_written_then_read_instead_of_parsing(tmp_path):
    root, script = _package(tmp_path, "import numpy\n")
    cache = tmp_path / "cache" / "imports.json"
    assert _closure(script, root, cache) == ["__init__.py", "a.py", "b.py"]
    entries = json.loads(cache.read_text())
    key = hashlib.sha256((root / "b.py").read_bytes()).hexdigest()
    assert entries[key] == ["numpy"]
    # an entry the cache holds is used as is: plant one for b.py's bytes and the closure follows it
    entries[key] = ["reglab.c"]
    cache.write_text(json.dumps(entries))
    assert _closure(script, root, cache) == ["__init__.py", "a.py", "b.py", "c.py"]


def test_a_changed_file_is_parsed_again_and_a_broken_cache_is_ignored(tmp_path):
    root, script = _package(tmp_path, "X = 0\n")
    cache = tmp_path / "imports.json"
    assert _closure(script, root, cache) == ["__init__.py", "a.py", "b.py"]
    (root / "b.py").write_text("from reglab import c\n")
    assert _closure(script, root, cache) == ["__init__.py", "a.py", "b.py", "c.py"]
    cache.write_text("{not json")
    assert _closure(script, root, cache) == ["__init__.py", "a.py", "b.py", "c.py"]
    assert json.loads(cache.read_text())  # rewritten whole
