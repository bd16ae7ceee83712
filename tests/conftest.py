"""Suite-wide rules: under ``CI=true`` a skip is a failure, and the services a test needs are checked
before its fixtures are built.

CI must prove what README claims, so a test skipped there for a missing service (SLURM, Chromium, a
CJK font, ShellCheck, a Python package) fails, naming what is missing. ``.ci/run`` sets ``CI=true``
itself, so a hand run of it behaves the same. Outside CI such tests skip with their reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

pytest_plugins = ["pytester"]

# node id -> why CI may skip it. Each entry names something CI cannot provide. Empty today: CI
# installs Chromium, the CJK font and ShellCheck and brings up SLURM, and TensorFlow, statsmodels and
# the SLURM plugin are dependencies of the test command.
ALLOWED_SKIPS: dict[str, str] = {}


def in_ci() -> bool:
    """True where the CI variable says so (``true``/``1``/``yes``, any case), as ``.ci/run`` sets it."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _allowed(nodeid: str) -> bool:
    return any(nodeid == k or nodeid.startswith(k + "[") for k in ALLOWED_SKIPS)


def _reason(longrepr: object) -> str:
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _fail_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if in_ci() and report.skipped and not hasattr(report, "wasxfail") and not _allowed(report.nodeid):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under CI=true, where every skip fails (tests/conftest.py ALLOWED_SKIPS "
            f"lists the exceptions): {_reason(report.longrepr)}"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())  # a module-level skip or importorskip


def slurm_unavailable() -> str | None:
    """Why a real SLURM cannot be used here, or None."""
    if shutil.which("sbatch") is None:
        return "sbatch not found (.ci/slurm-up brings up a single-node SLURM, as CI does)"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "the SLURM executor plugin is not installed (pip install -e '.[slurm]')"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
    if ping.returncode != 0 or "UP" not in ping.stdout:
        return f"no SLURM controller answers scontrol ping: {(ping.stdout + ping.stderr).strip()[:200]}"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A ``slurm`` test is skipped here, before its (expensive, module-scoped) fixtures are built."""
    if item.get_closest_marker("slurm") and (why := slurm_unavailable()):
        pytest.skip(f"SLURM unavailable: {why}")
