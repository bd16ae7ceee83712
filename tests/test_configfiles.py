"""Config files read by the workflow itself: strict YAML (duplicate keys, file and line in every message)
and studies selected by name, composed the same way on a laptop and on cluster nodes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reglab.core import configfiles as cf

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_key_given_twice_names_file_line_and_key(tmp_path):
    f = write(tmp_path / "c.yaml", "seed: 1\ndatasets: {}\nseed: 2\n")
    with pytest.raises(
        cf.ConfigFileError, match=r"c\.yaml, line 3: key 'seed' is given twice .*first at line 1"
    ):
        cf.load(f)
    nested = write(tmp_path / "n.yaml", "keras:\n  runs:\n    a: {lr: 1}\n    a: {lr: 2}\n")
    with pytest.raises(cf.ConfigFileError, match=r"n\.yaml, line 4: key 'a'"):
        cf.load(nested)
    assert yaml.safe_load(nested.read_text())["keras"]["runs"]["a"] == {"lr": 2}  # what PyYAML alone does


def test_empty_unparsable_and_non_mapping_files_name_the_file(tmp_path):
    with pytest.raises(cf.ConfigFileError, match=r"e\.yaml: the config file is empty"):
        cf.load(write(tmp_path / "e.yaml", "# nothing\n"))
    with pytest.raises(
        cf.ConfigFileError, match=r"b\.yaml, line 3, column \d+: not valid YAML: mapping values"
    ):
        cf.load(write(tmp_path / "b.yaml", "seed: 1\ndatasets: {}\nthreads: 2: 3\n"))
    with pytest.raises(cf.ConfigFileError, match=r"l\.yaml, line 1: the config file holds a list"):
        cf.load(write(tmp_path / "l.yaml", "- 1\n- 2\n"))
    with pytest.raises(cf.ConfigFileError, match=r"missing\.yaml: cannot read"):
        cf.load(tmp_path / "missing.yaml")


@pytest.fixture
def layout(tmp_path):
    base = write(tmp_path / "config.yaml", "seed: 1\ndatasets: {a: {n: 10}, b: {n: 20}}\nthreads: 2\n")
    studies = tmp_path / "config"
    studies.mkdir()
    write(studies / "alone.yaml", "seed: 5\ndatasets: {c: {n: 3}}\n")
    write(studies / "over.yaml", "extends: config.yaml\ndatasets: {a: {n: 99}}\n")
    return base, studies


def test_a_standalone_study_replaces_config_yaml_and_an_extending_one_merges(layout):
    base, studies = layout
    alone = cf.compose(base=base, studies_dir=studies, study="alone", overrides={"study": "alone"})
    assert alone == {"seed": 5, "datasets": {"c": {"n": 3}}, "study": "alone"}
    over = cf.compose(base=base, studies_dir=studies, study="over", overrides={})
    assert (
        over["datasets"] == {"a": {"n": 99}, "b": {"n": 20}}
        and over["threads"] == 2
        and "extends" not in over
    )
    plain = cf.compose(base=base, studies_dir=studies, study=None, overrides={"datasets": {"b": {"n": 1}}})
    assert plain["datasets"] == {"a": {"n": 10}, "b": {"n": 1}} and "study" not in plain


def test_command_line_files_go_over_the_study_and_are_read_strictly(layout, tmp_path):
    base, studies = layout
    extra = write(tmp_path / "extra.yaml", "datasets: {c: {n: 4}}\n")
    got = cf.compose(
        base=base,
        studies_dir=studies,
        study="alone",
        overrides={"datasets": {"c": {"n": 4}}},
        override_files=[extra],
    )
    assert got["datasets"] == {"c": {"n": 4}} and got["seed"] == 5
    dup = write(tmp_path / "dup.yaml", "seed: 1\nseed: 1\n")
    with pytest.raises(cf.ConfigFileError, match=r"dup\.yaml, line 2"):
        cf.compose(base=base, studies_dir=studies, study=None, overrides={}, override_files=[dup])


def test_a_standalone_study_given_as_configfile_is_refused_with_the_fix(layout):
    base, studies = layout
    with pytest.raises(cf.ConfigFileError, match=r"run it with --config study=alone"):
        cf.compose(
            base=base,
            studies_dir=studies,
            study=None,
            overrides={"seed": 5},
            override_files=[studies / "alone.yaml"],
        )
    # the old way, --configfile with --replace-workflow-config, still means what it says
    got = cf.compose(
        base=base,
        studies_dir=studies,
        study=None,
        overrides={"seed": 5},
        override_files=[studies / "alone.yaml"],
        replace=True,
    )
    assert got == {"seed": 5}


def test_unknown_or_odd_study_names_list_the_studies(layout):
    base, studies = layout
    with pytest.raises(
        cf.ConfigFileError, match=r"no study file .*nope\.yaml; studies are \['alone', 'over'\]"
    ):
        cf.compose(base=base, studies_dir=studies, study="nope", overrides={})
    with pytest.raises(cf.ConfigFileError, match="not a study name"):
        cf.compose(base=base, studies_dir=studies, study="../etc/passwd", overrides={})


def test_the_project_studies_compose():
    tiny = cf.compose(base=REPO / "config.yaml", studies_dir=REPO / "config", study="tiny", overrides={})
    assert (
        tiny["datasets"]["large"]["n"]
        == yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())["datasets"]["large"]["n"]
    )
    assert (
        "lstm_seed" not in tiny["amortized"]["encoders"]
        or tiny["amortized"]["encoders"]["lstm_seed"]["width"] < 512
    )
    paper = cf.compose(base=REPO / "config.yaml", studies_dir=REPO / "config", study="paper", overrides={})
    assert (
        paper["amortized"]["encoders"]["lstm_seed"]["width"] == 512
        and paper["datasets"]["large"]["n"] == 1_000_000
    )
