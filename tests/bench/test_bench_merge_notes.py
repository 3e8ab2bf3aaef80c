"""A merged benchmark run keeps the dates of the sections it did not measure again."""

from __future__ import annotations

from bench.report import carried_notes


def test_a_rerun_keeps_the_other_sections_dates() -> None:
    notes = [
        "keys, ledger re-measured 2026-11-26 14:39 UTC (commit 9e75f6e)",
        "compare, slow, workers re-measured 2026-12-07 17:14 UTC (commit 71714c4)",
        "slow streams capped at 9,900 (asked 10,000)",
        "tracing re-measured 2026-12-07 04:00 UTC (commit ad93ab6)",
    ]
    assert carried_notes(notes, ["compare", "slow"]) == [
        "keys, ledger re-measured 2026-11-26 14:39 UTC (commit 9e75f6e)",
        "workers re-measured 2026-12-07 17:14 UTC (commit 71714c4)",
        "tracing re-measured 2026-12-07 04:00 UTC (commit ad93ab6)",
    ]
    assert carried_notes(notes, ["tracing"]) == notes[:3]
