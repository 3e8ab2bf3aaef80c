"""Compare the catalog with the providers' own model lists (``opentoken catalog sync``), for the admin.

It lives with the admin (the top layer), as it joins the catalog with the providers' lists read by
``upstream.models``.

A listed model is *new* when no catalog entry of that provider has it as ``upstream_model`` or alias (and
``{provider}/{id}`` is not a catalog name); only models that can answer chat calls count. A catalog model is
*unlisted* when it is in service (enabled, priced, not retired) but neither its ``upstream_model`` nor any
alias is in its provider's list. A provider whose list could not be read is reported, and nothing is
concluded about it.

A new model added by sync gets what the provider says (name, limits when listed) and is added *disabled*: a
provider's list carries no prices, and the gateway never serves a model it cannot charge for. The operator
sets its price (and checks its limits and capabilities), then enables it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from opentoken.catalog.snapshot import Snapshot
from opentoken.providers.base import ListedModel
from opentoken.stores.catalog import CapabilitiesSpec, ModelSpec
from opentoken.upstream.models import Listing

DEFAULT_CONTEXT_WINDOW = 200_000  # when the provider's list does not say (Anthropic's basic list does not)
DEFAULT_MAX_OUTPUT_TOKENS = 8_192


@dataclass(frozen=True, slots=True)
class NewModel:
    provider: str
    model_id: str  # the public id it gets when added: "{provider}/{listed id}"
    listed: ListedModel


@dataclass(frozen=True, slots=True)
class Unlisted:
    model_id: str
    provider: str
    upstream_model: str


@dataclass(frozen=True, slots=True)
class SyncReport:
    listings: tuple[Listing, ...]
    new: tuple[NewModel, ...]
    unlisted: tuple[Unlisted, ...]


def sync_report(snapshot: Snapshot, listings: Sequence[Listing]) -> SyncReport:
    composed = snapshot.composed
    new: list[NewModel] = []
    unlisted: list[Unlisted] = []
    for listing in listings:
        if listing.error is not None:
            continue
        entries = [e.model for e in composed.entries.values() if e.model.provider == listing.provider]
        known = {name for m in entries for name in (m.upstream_model, *m.aliases)}
        listed = {m.id for m in listing.models}
        for model in listing.models:
            public = f"{listing.provider}/{model.id}"
            if model.generates_text and model.id not in known and public not in composed.names:
                new.append(NewModel(listing.provider, public, model))
        for m in entries:
            serving = snapshot.states[m.id] in ("active", "deprecated")
            if serving and not ({m.upstream_model, *m.aliases} & listed):
                unlisted.append(Unlisted(m.id, m.provider, m.upstream_model))
    return SyncReport(tuple(listings), tuple(new), tuple(unlisted))


def new_model_spec(listed: ListedModel, today: date) -> ModelSpec:
    """The database entry of a model added by sync: disabled until the operator prices it."""
    output = listed.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS
    spec = ModelSpec(
        upstream_model=listed.id,
        name=listed.display_name or listed.id,
        description=f"Added by catalog sync on {today.isoformat()}; set its price and check its limits, then enable it.",
        created=listed.created or 0,
        context_window=listed.context_window or DEFAULT_CONTEXT_WINDOW,
        max_output_tokens=output,
        default_max_tokens=min(output, DEFAULT_MAX_OUTPUT_TOKENS),
        enabled=False,
    )
    if listed.thinking is not None:
        spec.capabilities = CapabilitiesSpec(reasoning=listed.thinking)
    return spec
