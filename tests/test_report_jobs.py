"""The report's Jobs section reads Snakemake's benchmark files and sets each family's peak beside its
request."""

from __future__ import annotations

import math

from reglab.report.inputs import Inputs
from reglab.report.sections import jobs

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(root, rel, s, rss, cpu):
    f = root / rel
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(HEADER + f"{s}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t0\t{cpu}\n")


def test_benchmarks_are_read_by_family_rule_and_job(tmp_path):
    bench(tmp_path, "data/dataset/collinear.tsv", 1.5, 120.5, 0.9)
    bench(tmp_path, "data/dataset/fuel.tsv", 2.5, 220.0, 2.0)
    bench(tmp_path, "light/report.tsv", 0.2, "NA", "NA")  # too short to sample
    table = jobs.read_benchmarks(tmp_path)
    assert sorted(zip(table["family"], table["rule"], table["job"])) == [
        ("data", "dataset", "collinear"),
        ("data", "dataset", "fuel"),
        ("light", "report", ""),
    ]
    fams = {f["family"]: f for f in jobs.families(table, {"data": (2000, 10), "light": (1000, 5)})}
    assert (
        fams["data"]["jobs"] == 2
        and fams["data"]["max_rss_mb"] == 220.0
        and fams["data"]["max_seconds"] == 2.5
    )
    assert math.isclose(fams["data"]["mem_headroom"], 2000 / 220.0) and math.isclose(
        fams["data"]["time_headroom"], 600 / 2.5
    )
    assert math.isnan(fams["light"]["max_rss_mb"]) and fams["light"]["mem_mb"] == 1000


def test_the_section_is_absent_without_benchmarks_and_sorted_by_time_with_them(tmp_path):
    assert jobs.build(Inputs(groups={}, params={"benchmarks": str(tmp_path / "none")})) is None
    bench(tmp_path, "keras/keras_fuel.tsv", 30.0, 900.0, 55.0)
    bench(tmp_path, "light/report.tsv", 0.5, 80.0, 0.4)
    ctx = jobs.build(
        Inputs(groups={}, params={"benchmarks": str(tmp_path), "job_sizes": {"keras": (3000, 60)}})
    )
    assert [j["rule"] for j in ctx["jobs"]] == ["keras_fuel", "report"] and ctx["total_seconds"] == 30.5
    assert {f["family"]: f["mem_mb"] for f in ctx["families"]} == {
        "keras": 3000,
        "light": math.nan,
    } or math.isnan({f["family"]: f["mem_mb"] for f in ctx["families"]}["light"])
