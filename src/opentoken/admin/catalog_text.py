"""Plain-text rendering of the catalog for ``opentoken catalog``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from opentoken.admin.catalog_schema import CatalogModelOut, PriceHistoryOut, PricePointOut, SyncOut
from opentoken.admin.text import table


def _when(value: datetime | None) -> str:
    return "always" if value is None else value.strftime("%Y-%m-%d %H:%M:%SZ")


def _opt(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def models_table(models: Sequence[CatalogModelOut]) -> str:
    headers = ("ID", "STATE", "SOURCE", "INPUT", "OUTPUT", "CACHE_READ", "CONTEXT", "NEXT_PRICE")
    rows = []
    for m in models:
        p = m.prices
        next_price = f"{m.scheduled[0].prices.input}/{m.scheduled[0].prices.output} from {_when(m.scheduled[0].effective_from)}" if m.scheduled else "-"  # fmt: skip
        rows.append(
            (
                m.id,
                m.state,
                m.source + ("+db" if m.overridden and m.source != "database" else ""),
                _opt(p and p.input),
                _opt(p and p.output),
                _opt(p and p.cache_read),
                str(m.context_window),
                next_price,
            )
        )
    return table(headers, rows, [False, False, False, True, True, True, True, False])


def _points(points: Sequence[PricePointOut]) -> str:
    headers = ("EFFECTIVE_FROM", "INPUT", "OUTPUT", "CACHE_READ", "CACHE_WRITE", "SOURCE", "IN_FORCE")
    rows = [
        (
            _when(p.effective_from),
            p.prices.input,
            p.prices.output,
            p.prices.cache_read,
            p.prices.cache_write,
            p.source,
            "yes" if p.in_force else "",
        )
        for p in points
    ]
    return table(headers, rows, [False, True, True, True, True, False, False])


def history_text(history: PriceHistoryOut) -> str:
    return f"Prices of {history.model} (USD per million tokens):\n" + _points(history.data)


def model_text(m: CatalogModelOut) -> str:
    life = m.lifecycle
    fields = [
        ("id", m.id),
        ("name", m.name),
        ("state", m.state),
        ("source", m.source),
        ("overridden", ", ".join(m.overridden) or "-"),
        ("upstream_model", m.upstream_model),
        ("aliases", ", ".join(m.aliases) or "-"),
        ("fallbacks", ", ".join(m.fallbacks) or "-"),
        ("context_window", str(m.context_window)),
        ("max_output_tokens", str(m.max_output_tokens)),
        ("default_max_tokens", str(m.default_max_tokens)),
        ("capabilities", ", ".join(k for k, v in m.capabilities.items() if v) or "-"),
        ("reasoning", m.reasoning),
        ("released", _opt(life.released)),
        ("deprecated", _opt(life.deprecated)),
        ("retired", _opt(life.retired)),
        ("successor", _opt(life.successor)),
        ("description", _opt(m.description)),
    ]
    width = max(len(name) for name, _ in fields)
    lines = [f"{name.ljust(width)}  {value}" for name, value in fields]
    if isinstance(m.price_history, list):
        lines += ["", "Prices (USD per million tokens):", _points(m.price_history)]
    return "\n".join(lines)


def sync_text(out: SyncOut) -> str:
    lines = []
    for p in out.providers:
        lines.append(
            f"{p.provider}: " + (f"could not read its list: {p.error}" if p.error else f"{p.listed} models listed")
        )
    if out.new:
        lines += ["", "Listed by the provider, not in the catalog (add with --add ID; added disabled until priced):"]
        rows = [(n.id, n.display_name, _opt(n.context_window), _opt(n.max_output_tokens)) for n in out.new]
        lines.append(table(("ID", "NAME", "CONTEXT", "MAX_OUTPUT"), rows, [False, False, True, True]))
    if out.unlisted:
        lines += ["", "In service here, no longer listed by the provider (disable with --disable ID):"]
        lines.append(table(("ID", "UPSTREAM_MODEL"), [(u.id, u.upstream_model) for u in out.unlisted]))
    read = [p for p in out.providers if p.error is None]
    if not read:
        lines.append("No provider list could be read: nothing to compare.")
    elif not out.new and not out.unlisted:
        lines.append(f"The catalog matches the lists of {', '.join(p.provider for p in read)}.")
    lines += [f"Added (disabled until priced): {m}" for m in out.added]
    lines += [f"Disabled: {m}" for m in out.disabled]
    return "\n".join(lines)
