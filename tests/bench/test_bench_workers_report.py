"""The workers section of the benchmark report renders what the section measured (and nothing without it)."""

from __future__ import annotations

from bench.workers import report


def test_the_workers_section_reports_ratio_and_cpu_growth() -> None:
    row = {"rps": 1000.0, "cpu_us_per_request": 500.0, "worker_cpu_s": [1.0], "supervisor_cpu_s": 0.0}
    two = {"rps": 1700.0, "cpu_us_per_request": 540.0, "worker_cpu_s": [1.0, 1.1], "supervisor_cpu_s": 0.1}
    layout = {"1": {"saturation": row, "stream_saturation": row}, "2": {"saturation": two, "stream_saturation": two}}
    text = report({"workers": {"cores": 2, "pinned": layout, "shared": layout, "admission": {"admissions": 10}}})
    assert "| pinned | non-streaming | 1000.0 | 1700.0 | 1.70x | 500.0 -> 540.0 | +8.0% |" in text
    assert report({}) == ""
