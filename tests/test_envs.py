"""The environments: every pin in envs/*.yaml equals constraints.txt, each env pins what its pins need, each
script's family covers what the script imports, and pyproject's markers pick exactly one TensorFlow wheel.

The conda environments cannot be created here (no conda); these checks are what keeps them honest."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from reglab.core.provenance import import_closure

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
SCRIPTS = sorted((REPO / "scripts").glob("*.py"))
RULE_FILES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
#: the families, smallest first: a script belongs to the first whose env has everything it imports
FAMILIES = ("numerical", "report", "keras")
#: conda-forge name -> PyPI name, where they differ
CONDA_TO_PYPI = {"python-tzdata": "tzdata", "matplotlib-base": "matplotlib"}
#: import name -> PyPI name, where they differ; `tensorflow` is checked as both of its wheels (markers)
IMPORT_TO_PYPI = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow", "dateutil": "python-dateutil"}
TENSORFLOW = ("tensorflow-cpu", "tensorflow")
#: which TensorFlow wheel each platform gets (sys_platform, platform_machine); 2.21.0 has wheels for the first
#: four; Intel macOS (none since 2.16.2) and the rest get `tensorflow` and an error from pip, as README says
EXPECTED_TENSORFLOW = {
    ("linux", "x86_64"): "tensorflow-cpu",
    ("win32", "AMD64"): "tensorflow-cpu",
    ("darwin", "arm64"): "tensorflow",
    ("linux", "aarch64"): "tensorflow",
    ("darwin", "x86_64"): "tensorflow",
    ("linux", "ppc64le"): "tensorflow",
    ("freebsd14", "amd64"): "tensorflow",
}
#: required by a pinned package but deliberately left to pip (constraints.txt says why)
UNPINNED = {"setuptools"}


class Pin(NamedTuple):
    version: str
    source: str  # "conda" or "pip"
    marker: Marker | None


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def _env(path: Path) -> tuple[str, dict[str, Pin]]:
    """An env file's python spec and its pins by PyPI name."""
    python, pins = None, {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        entries = (
            [("pip", Requirement(line)) for line in dep["pip"]] if isinstance(dep, dict) else [("conda", dep)]
        )
        for source, entry in entries:
            if source == "pip":
                (spec,) = entry.specifier
                assert spec.operator == "==", f"{path.name}: {entry} is not pinned with =="
                name, pin = entry.name, Pin(spec.version, source, entry.marker)
            elif entry.split("=")[0] in ("python", "pip"):
                python = entry if entry.startswith("python") else python
                continue
            else:
                name, sep, version = entry.partition("==")
                assert sep, f"{path.name}: {entry} is not pinned with =="
                name, pin = CONDA_TO_PYPI.get(name, name), Pin(version, source, None)
            key = canonicalize_name(name)
            assert key not in pins, f"{path.name}: {name} is listed twice"
            pins[key] = pin
    assert python, f"{path.name} names no python"
    return python, pins


ENVS = {p.stem: _env(p) for p in ENV_FILES}
FAMILY_OF = {}  # script name -> family, from the table in envs/README.md
for _row in re.finditer(
    r"^\| `scripts/(\w+)\.py` \|.*\| `envs/(\w+)\.yaml` \|$", (REPO / "envs" / "README.md").read_text(), re.M
):
    assert _row[1] not in FAMILY_OF, f"envs/README.md lists scripts/{_row[1]}.py twice"
    FAMILY_OF[_row[1]] = _row[2]


def _pyproject_requirements() -> list[Requirement]:
    return [
        Requirement(r)
        for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    ]


def _imports(script: Path) -> set[str]:
    """PyPI names of what a script imports, through the reglab code it runs (the closure `code()` hashes)."""
    _, external = import_closure(script)
    names = set()
    for top in external - set(sys.stdlib_module_names):
        names.update(TENSORFLOW if top == "tensorflow" else [canonicalize_name(IMPORT_TO_PYPI.get(top, top))])
    return names


def test_the_families_are_the_env_files():
    assert set(ENVS) == set(FAMILIES)
    assert len({python for python, _ in ENVS.values()}) == 1, "the envs name different Pythons"


@pytest.mark.parametrize("family", sorted(ENVS))
def test_every_env_pin_equals_constraints(family):
    constraints = _constraints()
    _, pins = ENVS[family]
    unknown = sorted(n for n in pins if n not in constraints)
    assert not unknown, f"envs/{family}.yaml pins packages constraints.txt does not: {unknown}"
    differ = {n: (p.version, constraints[n]) for n, p in pins.items() if p.version != constraints[n]}
    assert not differ, f"envs/{family}.yaml (env, constraints.txt): {differ}"


@pytest.mark.parametrize("family", sorted(ENVS))
def test_every_env_pins_what_its_pins_require(family):
    """What a pinned package needs (by its metadata here) is pinned too, so conda and pip choose no
    versions."""
    _, pins = ENVS[family]
    missing = {}
    for name, pin in pins.items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue  # the other TensorFlow wheel: not installed on this platform
        for req in map(Requirement, metadata.requires(name) or []):
            needed = canonicalize_name(req.name)
            applies = req.marker is None or req.marker.evaluate({"extra": ""})
            if applies and needed not in pins and needed not in UNPINNED:
                missing.setdefault(name, []).append(needed)
    assert not missing, f"envs/{family}.yaml lacks what these need: {missing}"


@pytest.mark.parametrize("family", sorted(ENVS))
def test_every_env_installs_reglab_by_its_post_deploy_script(family):
    """Not from the env file: Snakemake creates the env from a copy under .snakemake/conda/, so a path there
    would be relative to the copy, and a pip: entry cannot say --no-deps (envs/README.md)."""
    script = REPO / "envs" / f"{family}.post-deploy.sh"
    text = script.read_text()
    assert text == (REPO / "envs" / f"{FAMILIES[0]}.post-deploy.sh").read_text(), (
        "the post-deploy scripts differ"
    )
    assert 'python -m pip install --no-deps --no-input -e "$root"' in text and script.stat().st_mode & 0o111
    pip_lines = [
        line
        for dep in yaml.safe_load((REPO / "envs" / f"{family}.yaml").read_text())["dependencies"]
        if isinstance(dep, dict)
        for line in dep["pip"]
    ]
    assert not [line for line in pip_lines if line.startswith("-")], (
        "a pip: option line (-e, -r, -c) in the env"
    )


def test_bigger_families_hold_the_numerical_set():
    numerical = ENVS["numerical"][1]
    for family in FAMILIES[1:]:
        assert numerical.items() <= ENVS[family][1].items(), (
            f"envs/{family}.yaml differs from the numerical set"
        )


def test_every_script_has_the_smallest_family_that_has_what_it_imports():
    assert set(FAMILY_OF) == {s.stem for s in SCRIPTS}, "envs/README.md's table and scripts/ differ"
    wrong = {}
    for script in SCRIPTS:
        needs = _imports(script)
        fits = [f for f in FAMILIES if needs <= set(ENVS[f][1])]
        assert fits, f"{script.name} imports {sorted(needs)}: no env has them all"
        if FAMILY_OF[script.stem] != fits[0]:
            wrong[script.name] = (FAMILY_OF[script.stem], fits[0])
    assert not wrong, f"(listed, smallest that fits): {wrong}"


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_rule_conda_directives_follow_the_table(path):
    """A rule's `conda:` (where it has one) is its script's family: `conda: "../../envs/<family>.yaml"`."""
    for block in re.split(r"^\s*(?:rule|checkpoint)\b", path.read_text(), flags=re.M)[1:]:
        conda = re.search(r'conda:\s*"([^"]+)"', block)
        script = re.search(r'script:\s*"\.\./\.\./scripts/(\w+)\.py"', block)
        if conda and script:
            assert conda[1] == f"../../envs/{FAMILY_OF[script[1]]}.yaml", f"{path.name}: {script[1]}"


def test_tensorflow_markers_pick_exactly_one_wheel_per_platform():
    tf = {
        canonicalize_name(r.name): r
        for r in _pyproject_requirements()
        if canonicalize_name(r.name) in TENSORFLOW
    }
    assert set(tf) == set(TENSORFLOW) and tf["tensorflow"].specifier == tf["tensorflow-cpu"].specifier
    for (platform, machine), expected in EXPECTED_TENSORFLOW.items():
        env = {"sys_platform": platform, "platform_machine": machine}
        picked = [name for name, req in tf.items() if req.marker.evaluate(env)]
        assert picked == [expected], f"{platform} {machine}: {picked}"
    constraints = _constraints()
    assert constraints["tensorflow"] == constraints["tensorflow-cpu"]
    keras_env = ENVS["keras"][1]
    for name, req in tf.items():
        assert str(keras_env[name].marker) == str(req.marker), (
            f"envs/keras.yaml's {name} marker is not pyproject's"
        )
