"""Plain-text rendering of keys and usage for the admin CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from opentoken.admin.schema import KeyOut, UsageOut, UsageRowOut

_USAGE_COLUMNS = (
    ("REQUESTS", "requests"),
    ("INPUT", "input_tokens"),
    ("CACHE_READ", "cache_read_tokens"),
    ("CACHE_WRITE", "cache_write_tokens"),
    ("OUTPUT", "output_tokens"),
    ("REASONING", "reasoning_tokens"),
    ("COST_USD", "cost"),
    ("ERRORS", "errors"),
)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    """Columns padded to their widest cell; ``right`` marks right-aligned (numeric) columns."""
    align = list(right or [False] * len(headers))
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, align, strict=True)]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def _time(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%SZ")


def _opt(value: object) -> str:
    return "-" if value is None else str(value)


def _budget(key: KeyOut) -> str:
    if key.budget_usd is None:
        return "-"
    return key.budget_usd if key.budget_period == "none" else f"{key.budget_usd}/{key.budget_period}"


def keys_table(keys: Sequence[KeyOut]) -> str:
    headers = ("ID", "NAME", "PREFIX", "STATUS", "OWNER", "MODELS", "BUDGET_USD", "RPM", "TPM", "CONC", "CREATED")
    rows = [
        (
            k.id,
            k.name,
            k.prefix + "...",
            k.status,
            _opt(k.owner),
            ",".join(k.models) or "*",
            _budget(k),
            _opt(k.rpm),
            _opt(k.tpm),
            _opt(k.max_concurrent),
            _time(k.created_at),
        )
        for k in keys
    ]
    return table(headers, rows, [False] * 7 + [True] * 3 + [False])


def key_text(key: KeyOut) -> str:
    fields: list[tuple[str, str]] = [
        ("id", key.id),
        ("name", key.name),
        ("prefix", key.prefix + "..."),
        ("status", key.status),
        ("owner", _opt(key.owner)),
        ("models", ", ".join(key.models) or "* (every model)"),
        ("budget_usd", _budget(key)),
        ("rpm", _opt(key.rpm)),
        ("tpm", _opt(key.tpm)),
        ("max_concurrent", _opt(key.max_concurrent)),
        ("expires_at", _time(key.expires_at)),
        ("revoked_at", _time(key.revoked_at)),
        ("created_at", _time(key.created_at)),
    ]
    fields += [(f"metadata.{k}", v) for k, v in sorted(key.metadata.items())]
    if isinstance(key.spend_usd, str):
        period = key.period_start if isinstance(key.period_start, datetime) else None
        since = "all time" if period is None else f"since {_time(period)}"
        fields.append(("spend_usd", f"{key.spend_usd} ({since})"))
    if isinstance(key.budget_remaining_usd, str):
        fields.append(("budget_remaining_usd", key.budget_remaining_usd))
    width = max(len(name) for name, _ in fields)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in fields)


def _usage_cells(row: UsageRowOut) -> list[str]:
    return [str(getattr(row, attr)) for _, attr in _USAGE_COLUMNS]


def usage_table(usage: UsageOut) -> str:
    groups = [g.upper() for g in usage.group_by]
    headers = [*groups, *(title for title, _ in _USAGE_COLUMNS)]
    rows = [[row.group.get(g, "") for g in usage.group_by] + _usage_cells(row) for row in usage.data]
    if groups:
        rows.append(["TOTAL", *[""] * (len(groups) - 1), *_usage_cells(usage.total)])
    else:
        rows = [_usage_cells(usage.total)]
    return table(headers, rows, [False] * len(groups) + [True] * len(_USAGE_COLUMNS))
