"""The public models page: every catalog model with the figures of ``GET /v1/models`` (the same catalog
object, rendered through the same ``ingress.openai.models.model_out``), filtered and sorted by URL parameters so that
any view can be shared."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal

from starlette.datastructures import QueryParams

from opentoken.catalog.model import ModelInfo
from opentoken.ingress.openai.models import ModelOut, model_out
from opentoken.web.i18n import N_

NEW_DAYS = 90  # a model released this recently wears the "new" badge
CAPABILITIES = {
    "vision": N_("Vision"),
    "pdf": N_("PDF"),
    "audio": N_("Audio"),
    "tools": N_("Tools"),
    "reasoning": N_("Reasoning"),
    "structured_output": N_("Structured output"),
}
MODALITIES = {"text": N_("Text"), "image": N_("Image"), "file": N_("PDF file"), "audio": N_("Audio")}
SORTS = {
    "name": N_("Name"),
    "price": N_("Price: low to high"),
    "price_desc": N_("Price: high to low"),
    "context": N_("Context length"),
    "newest": N_("Newest"),
}
Stage = Literal["new", "deprecated", "retired"]


@dataclass(frozen=True, slots=True)
class ModelCard:
    info: ModelInfo
    out: ModelOut  # the object GET /v1/models returns for this model
    stage: Stage | None
    released: date

    @property
    def capabilities(self) -> list[str]:
        return [name for name in CAPABILITIES if self.out.capabilities.get(name)]

    @property
    def input_price(self) -> Decimal:
        return Decimal(self.out.pricing.per_million["input"])


def _released(m: ModelInfo) -> date:
    return m.lifecycle.released or datetime.fromtimestamp(m.created, UTC).date()


def stage(m: ModelInfo, today: date) -> Stage | None:
    life = m.lifecycle
    if life.retired is not None and life.retired <= today:
        return "retired"
    if life.deprecated is not None and life.deprecated <= today:
        return "deprecated"
    if today - _released(m) <= timedelta(days=NEW_DAYS):
        return "new"
    return None


def cards(models: Iterable[ModelInfo], today: date | None = None) -> list[ModelCard]:
    day = today or datetime.now(UTC).date()
    return [ModelCard(m, model_out(m), stage(m, day), _released(m)) for m in models if m.enabled]


def _choices(params: QueryParams, name: str, allowed: Iterable[str]) -> list[str]:
    allowed = set(allowed)
    return [v for v in params.getlist(name) if v in allowed]


@dataclass(frozen=True, slots=True)
class ModelFilter:
    q: str = ""
    providers: Sequence[str] = ()
    capabilities: Sequence[str] = ()
    inputs: Sequence[str] = ()
    max_price: Decimal | None = None
    min_context: int | None = None
    sort: str = "name"
    view: Literal["table", "cards"] = "table"
    problems: Sequence[str] = field(default_factory=tuple)

    @classmethod
    def from_query(cls, params: QueryParams, providers: Iterable[str]) -> ModelFilter:
        problems: list[str] = []
        max_price: Decimal | None = None
        raw = params.get("max_price", "").strip()
        if raw:
            try:
                max_price = Decimal(raw)
                if not max_price.is_finite() or max_price < 0:
                    raise InvalidOperation
            except InvalidOperation:
                max_price = None
                problems.append(N_("The highest input price must be a number of dollars."))
        min_context: int | None = None
        raw = params.get("min_context", "").strip()
        if raw:
            if raw.isdigit():
                min_context = int(raw)
            else:
                problems.append(N_("The context length must be a whole number of tokens."))
        sort = params.get("sort", "name")
        return cls(
            q=params.get("q", "").strip()[:200],
            providers=_choices(params, "provider", providers),
            capabilities=_choices(params, "cap", CAPABILITIES),
            inputs=_choices(params, "input", MODALITIES),
            max_price=max_price,
            min_context=min_context,
            sort=sort if sort in SORTS else "name",
            view="cards" if params.get("view") == "cards" else "table",
            problems=tuple(problems),
        )

    def params(self) -> dict[str, object]:
        """This view as URL parameters (defaults left out)."""
        return {
            "q": self.q or None,
            "provider": list(self.providers),
            "cap": list(self.capabilities),
            "input": list(self.inputs),
            "max_price": None if self.max_price is None else str(self.max_price),
            "min_context": self.min_context,
            "sort": None if self.sort == "name" else self.sort,
            "view": None if self.view == "table" else self.view,
        }

    def matches(self, card: ModelCard) -> bool:
        out = card.out
        if self.q:
            hay = " ".join((out.id, out.name, out.description, *card.info.aliases)).casefold()
            if not all(word in hay for word in self.q.casefold().split()):
                return False
        if self.providers and card.info.provider not in self.providers:
            return False
        if any(not out.capabilities.get(c) for c in self.capabilities):
            return False
        if any(i not in out.architecture.input_modalities for i in self.inputs):
            return False
        if self.max_price is not None and card.input_price > self.max_price:
            return False
        return self.min_context is None or out.context_length >= self.min_context

    def apply(self, all_cards: Iterable[ModelCard]) -> list[ModelCard]:
        chosen = [c for c in all_cards if self.matches(c)]
        if self.sort == "price":
            chosen.sort(key=lambda c: (c.input_price, Decimal(c.out.pricing.per_million["output"]), c.out.id))
        elif self.sort == "price_desc":
            chosen.sort(key=lambda c: (-c.input_price, -Decimal(c.out.pricing.per_million["output"]), c.out.id))
        elif self.sort == "context":
            chosen.sort(key=lambda c: (-c.out.context_length, c.out.id))
        elif self.sort == "newest":
            chosen.sort(key=lambda c: (c.released, c.out.id), reverse=True)
        else:
            chosen.sort(key=lambda c: (c.out.name.casefold(), c.out.id))
        return chosen


def snippets(model_id: str, base_url: str) -> dict[str, str]:
    """Copy-ready calls of this model through this gateway: Python and JavaScript ``openai``, and curl."""
    return {
        "python": (
            "from openai import OpenAI\n\n"
            f'client = OpenAI(base_url="{base_url}", api_key="YOUR_OPENTOKEN_KEY")\n'
            "resp = client.chat.completions.create(\n"
            f'    model="{model_id}",\n'
            '    messages=[{"role": "user", "content": "Hello!"}],\n'
            ")\n"
            "print(resp.choices[0].message.content)\n"
        ),
        "javascript": (
            'import OpenAI from "openai";\n\n'
            f'const client = new OpenAI({{ baseURL: "{base_url}", apiKey: "YOUR_OPENTOKEN_KEY" }});\n'
            "const resp = await client.chat.completions.create({\n"
            f'  model: "{model_id}",\n'
            '  messages: [{ role: "user", content: "Hello!" }],\n'
            "});\n"
            "console.log(resp.choices[0].message.content);\n"
        ),
        "curl": (
            f"curl {base_url}/chat/completions \\\n"
            '  -H "Authorization: Bearer $OPENTOKEN_KEY" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f'  -d \'{{"model": "{model_id}", "messages": [{{"role": "user", "content": "Hello!"}}]}}\'\n'
        ),
    }
