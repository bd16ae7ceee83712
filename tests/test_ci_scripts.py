""".ci/: ShellCheck-clean scripts, the SLURM bring-up's reading of a previous configuration (no root
needed), its ERR trap, and the suite's rule that a skip under CI=true is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CI_DIR = REPO / ".ci"
LIB = CI_DIR / "slurm-lib.sh"


def bash(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``script`` in bash under ``set -Eeuo pipefail`` (as the .ci scripts run) with slurm-lib.sh sourced."""
    prelude = f'set -Eeuo pipefail\nsay() {{ printf "[test] %s\\n" "$*"; }}\nsource "{LIB}"\n'
    return subprocess.run(
        ["bash", "-c", prelude + script, "bash", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_ci_scripts_are_shellcheck_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not found (Debian: apt-get install shellcheck, which .ci/run does)")
    scripts = sorted(str(p) for p in CI_DIR.iterdir() if p.is_file())
    assert {Path(s).name for s in scripts} >= {"run", "slurm-up", "slurm-down", "slurm-lib.sh"}
    result = subprocess.run(
        ["shellcheck", "--external-sources", "--source-path=SCRIPTDIR", *scripts],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_exception_to_shellcheck_says_why():
    for path in CI_DIR.iterdir():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "shellcheck disable=" in line:
                assert "#" in line.split("disable=", 1)[1], (
                    f"{path.name}:{n} disables a check without a reason"
                )


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, ""),  # a machine that never ran slurm-up: no file
        ("ClusterName=other\nSlurmctldHost=x\n", ""),  # a slurm.conf somebody else wrote
        (
            "# Written by .ci/slurm-up; base folder /var/tmp/old-base\nClusterName=reglab\n",
            "/var/tmp/old-base",
        ),
        ("# Written by .ci/slurm-up; base folder /srv/with space", "/srv/with space"),  # no final newline
    ],
)
def test_previous_base_reads_a_missing_an_unrelated_and_a_previous_file(tmp_path, content, expected):
    conf = tmp_path / "slurm.conf"
    if content is not None:
        conf.write_text(content)
    result = bash('b=$(previous_base "$1"); printf "<%s>" "$b"', str(conf))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"<{expected}>" and result.stderr == ""


def test_the_conf_folder_defaults_to_etc_slurm_and_can_be_moved(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REGLAB_SLURM_CONF_DIR"}
    assert bash("slurm_conf_dir", env=env).stdout == "/etc/slurm\n"
    assert (
        bash("slurm_conf_dir", env={**env, "REGLAB_SLURM_CONF_DIR": str(tmp_path)}).stdout == f"{tmp_path}\n"
    )


def test_slurm_up_reads_the_previous_configuration_through_the_library():
    text = (CI_DIR / "slurm-up").read_text()
    assert 'OLD_BASE=$(previous_base "$SLURM_CONF_FILE")' in text and "CONF_DIR=$(slurm_conf_dir)" in text
    assert "/etc/slurm/" not in text.split("set -Eeuo pipefail", 1)[1]  # the folder comes from slurm_conf_dir


def test_a_failing_command_names_its_line_command_status_and_the_daemon_log(tmp_path):
    log = tmp_path / "slurmctld.log"
    log.write_text("starting\nfatal: Unable to bind listen port (6817): Address already in use\n")
    script = (
        f'SCRIPT_NAME=slurm-up\nCURRENT_LOG="{log}"\n'
        'trap \'on_error "$?" "$LINENO" "$BASH_COMMAND"\' ERR\n'
        "helper() { ls /nonexistent-reglab-path >/dev/null 2>&1; }\n"
        "helper\necho unreachable\n"
    )
    result = bash(script)
    assert result.returncode == 2  # ls's own status, passed on
    assert "unreachable" not in result.stdout
    err = result.stderr
    assert "[slurm-up] ERROR: line" in err and "ls /nonexistent-reglab-path" in err and "status 2" in err
    assert f"last lines of {log}" in err and "Address already in use" in err


def test_has_line_and_contains_do_not_fail_on_a_long_output():
    # `yes | head -n 100000 | grep -q y` can give status 141 under pipefail; these read captured text
    result = bash(
        'out=$(seq 1 100000); has_line "$out" 7 && contains "$out" 99999 && ! has_line "$out" 0 && echo ok'
    )
    assert result.returncode == 0 and result.stdout == "ok\n", result.stderr


# ---------------------------------------------------------------- the suite's CI rule (conftest.py)


def _pytester_with_our_conftest(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((Path(__file__).with_name("conftest.py")).read_text())


def test_a_skip_fails_under_ci_and_skips_outside(pytester, monkeypatch):
    _pytester_with_our_conftest(pytester)
    pytester.makepyfile(
        test_a='import pytest\n\ndef test_needs_a_service():\n    pytest.skip("no widget server")\n',
        test_b='import pytest\npytest.importorskip("reglab_no_such_module")\n\ndef test_x():\n    pass\n',
        test_c='import pytest\n\n@pytest.mark.xfail(reason="known")\ndef test_known():\n    assert False\n',
    )
    monkeypatch.setenv("CI", "true")
    ci = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_a.py", "test_c.py")
    ci.assert_outcomes(failed=1, xfailed=1)  # an xfail is not a skip
    assert "no widget server" in ci.stdout.str()
    module = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_b.py")
    module.assert_outcomes(errors=1)  # a module-level importorskip is a collection error
    assert module.ret != 0 and "reglab_no_such_module" in module.stdout.str()
    monkeypatch.delenv("CI")
    local = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    local.assert_outcomes(skipped=2, xfailed=1)


def test_an_allow_listed_skip_still_skips_under_ci(pytester, monkeypatch):
    conftest = Path(__file__).with_name("conftest.py").read_text()
    allowed = 'ALLOWED_SKIPS: dict[str, str] = {"test_a.py::test_gpu": "no GPU on CI machines"}'
    assert "ALLOWED_SKIPS: dict[str, str] = {}" in conftest
    pytester.makeconftest(conftest.replace("ALLOWED_SKIPS: dict[str, str] = {}", allowed))
    pytester.makepyfile(test_a='import pytest\n\ndef test_gpu():\n    pytest.skip("no GPU")\n')
    monkeypatch.setenv("CI", "true")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(skipped=1)


def _run_the_slurm_test(ci: bool) -> subprocess.CompletedProcess:
    """The real SLURM e2e test with a PATH that has no sbatch (only this Python's folder)."""
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PATH"}}
    env["PATH"] = str(Path(sys.executable).parent)
    if ci:
        env["CI"] = "true"
    node = "tests/test_workflow.py::test_the_tiny_study_under_slurm_gives_the_local_numbers"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", node],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_sbatch_the_slurm_test_fails_under_ci_naming_slurm():
    result = _run_the_slurm_test(ci=True)
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "1 error" in out, out[-3000:]  # failed in set-up, before run_dir
    assert "SLURM unavailable: sbatch not found" in out and "skipped under CI=true" in out


def test_without_sbatch_the_slurm_test_skips_outside_ci():
    result = _run_the_slurm_test(ci=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "1 skipped" in out, out[-3000:]
    assert "SLURM unavailable: sbatch not found" in out
