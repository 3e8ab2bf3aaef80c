"""Responses tools -> canonical function tools, and the map that turns a call's canonical name back.

- ``function`` tools map one to one (``strict`` kept).
- ``custom`` (free-form) tools become a function with one string argument, ``input``
  (``CUSTOM_PARAMETERS``); a call of it goes back out as a ``custom_tool_call`` whose ``input`` is that string.
- ``namespace`` tools are flattened: each inner tool becomes ``<namespace>__<name>`` (``flat_name``), and a
  call of it goes back out with ``namespace`` and the inner ``name``.
- ``web_search`` (and its preview spellings) asks for the provider's own web search (``ChatRequest.web_search``):
  the provider adapter maps it where the model has one and reports it as adjusted where it does not, so a
  client that always sends it (Codex) never gets a 400 for it.
- ``tool_choice``: ``auto`` / ``none`` / ``required``, a named function or custom tool, and ``allowed_tools``
  (emulated: the tool list is cut down to the allowed tools, with mode ``auto`` or ``required``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from opentoken.core import chat as c
from opentoken.core.errors import InvalidRequest, UnsupportedParameter
from opentoken.ingress.openai_responses import wire as w

CUSTOM_ARGUMENT = "input"
CUSTOM_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {CUSTOM_ARGUMENT: {"type": "string", "description": "The tool's free-form input."}},
    "required": [CUSTOM_ARGUMENT],
}
NAMESPACE_SEPARATOR = "__"
MAX_NAME = 64  # the strictest provider limit on function names (Anthropic)

ToolKind = Literal["function", "custom"]


@dataclass(frozen=True, slots=True)
class ToolOrigin:
    """Where a canonical tool came from: its kind, namespace and name as the client knows them, and its
    place in the request (``path``: ``(i,)`` for ``tools[i]``, ``(i, j)`` for ``tools[i].tools[j]``)."""

    kind: ToolKind
    name: str
    namespace: str | None = None
    path: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolSet:
    tools: tuple[c.Tool, ...] = ()
    origins: dict[str, ToolOrigin] = field(default_factory=dict)  # canonical name -> origin
    web_search: bool = False
    order: tuple[str, ...] = ()  # canonical names in request order (for ``tools[i]`` error locations)

    def origin(self, canonical: str) -> ToolOrigin:
        found = self.origins.get(canonical)
        if found is not None:
            return found
        namespace, sep, name = canonical.partition(NAMESPACE_SEPARATOR)
        if sep and namespace and name:
            return ToolOrigin("function", name, namespace)
        return ToolOrigin("function", canonical)


def flat_name(namespace: str | None, name: str) -> str:
    """The canonical (provider-facing) name of ``namespace``'s tool ``name``: ``ns__name``, shortened with a
    hash when longer than the providers allow."""
    if not namespace:
        return name
    flat = f"{namespace}{NAMESPACE_SEPARATOR}{name}"
    if len(flat) <= MAX_NAME:
        return flat
    digest = hashlib.sha256(flat.encode()).hexdigest()[:8]
    return flat[: MAX_NAME - 9] + "_" + digest


def parse_tools(raw: list[dict[str, Any]] | None, param_of: Any) -> ToolSet:
    out: list[c.Tool] = []
    origins: dict[str, ToolOrigin] = {}
    web_search = False
    for i, data in enumerate(raw or ()):
        try:
            tool = w.decode_tool(data)
        except msgspec.ValidationError as e:
            kind = data.get("type") if isinstance(data, dict) else None
            if isinstance(kind, str) and kind not in ("function", "custom", "namespace"):
                raise UnsupportedParameter(
                    f"The tool type {kind!r} is not supported by this gateway; use function, custom, namespace "
                    "or web_search tools.",
                    param=f"tools[{i}].type",
                ) from e
            raise param_of(e, f"tools[{i}]") from e
        match tool:
            case w.WebSearchTool():
                web_search = True
            case w.NamespaceTool():
                for j, inner in enumerate(tool.tools):
                    _add(out, origins, inner, tool.name, (i, j))
            case w.FunctionTool() | w.CustomTool():
                _add(out, origins, tool, None, (i,))
    return ToolSet(tuple(out), origins, web_search, tuple(t.name for t in out))


def _add(
    out: list[c.Tool],
    origins: dict[str, ToolOrigin],
    tool: w.FunctionTool | w.CustomTool,
    namespace: str | None,
    path: tuple[int, ...],
) -> None:
    where = "tools" + "".join(f"[{p}]" if n == 0 else f".tools[{p}]" for n, p in enumerate(path))
    name = flat_name(namespace, tool.name)
    if name in origins:
        raise InvalidRequest(f"Duplicate tool name '{name}'.", param=f"{where}.name")
    if isinstance(tool, w.CustomTool):
        if tool.format is not None and tool.format.type == "grammar":
            raise UnsupportedParameter(
                "Custom tools with a grammar format are not supported; use a text format.", param=f"{where}.format"
            )
        out.append(c.Tool(name=name, description=tool.description, parameters=dict(CUSTOM_PARAMETERS)))
        origins[name] = ToolOrigin("custom", tool.name, namespace, path)
        return
    params = tool.parameters
    if params is not None and params.get("type", "object") != "object":
        raise InvalidRequest("Function parameters must be a JSON Schema of type 'object'.", param=f"{where}.parameters")
    out.append(c.Tool(name=name, description=tool.description, parameters=params, strict=tool.strict))
    origins[name] = ToolOrigin("function", tool.name, namespace, path)


def parse_tool_choice(choice: str | dict[str, Any] | None, tools: ToolSet) -> tuple[c.ToolChoice | None, ToolSet]:
    """The canonical choice, and the tool set cut down to ``allowed_tools`` when the client named some."""
    if choice is None:
        return None, tools
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise InvalidRequest(f"Invalid tool_choice {choice!r}: use auto, none or required.", param="tool_choice")
        if choice == "required" and not tools.tools:
            raise InvalidRequest("tool_choice 'required' needs at least one tool in 'tools'.", param="tool_choice")
        mode: Literal["auto", "none", "required"] = choice  # type: ignore[assignment]
        return c.ToolChoice(mode=mode), tools
    kind = choice.get("type")
    if kind in ("function", "custom"):
        try:
            named = msgspec.convert(choice, w.NamedChoice, strict=True)
        except msgspec.ValidationError as e:
            raise InvalidRequest(f"Invalid tool_choice: {e}", param="tool_choice") from e
        canonical = _find(tools, named.name, None)
        if canonical is None:
            raise InvalidRequest(f"tool_choice names '{named.name}', which is not in 'tools'.", param="tool_choice")
        return c.ToolChoice(mode="function", name=canonical), tools
    if kind == "allowed_tools":
        try:
            allowed = msgspec.convert(choice, w.AllowedTools, strict=True)
        except msgspec.ValidationError as e:
            raise InvalidRequest(f"Invalid tool_choice: {e}", param="tool_choice") from e
        keep = {_find(tools, str(t.get("name", "")), t.get("namespace")) for t in allowed.tools}
        kept = tuple(t for t in tools.tools if t.name in keep)
        if not kept:
            raise InvalidRequest("tool_choice.tools names none of the tools in 'tools'.", param="tool_choice.tools")
        return c.ToolChoice(mode=allowed.mode), ToolSet(kept, tools.origins, tools.web_search, tools.order)
    if isinstance(kind, str) and kind.startswith("web_search"):
        return c.ToolChoice(mode="auto"), tools
    raise UnsupportedParameter(f"tool_choice of type {kind!r} is not supported.", param="tool_choice.type")


def _find(tools: ToolSet, name: str, namespace: Any) -> str | None:
    for canonical, origin in tools.origins.items():
        if origin.name == name and (namespace is None or origin.namespace == namespace):
            return canonical
    return name if name in tools.origins else None
