"""Pure parts of the sandbox: tokens, signatures, schema values, fault syntax, reply planning, prompt cache."""

from __future__ import annotations

import base64
from typing import Any

import jsonschema
import pytest

from opentoken_sandbox.faults import FaultQueue, FaultSpec, FaultSyntaxError, fault_in_text, parse_fault
from opentoken_sandbox.prompt_cache import PrefixCache, Segment
from opentoken_sandbox.scenario import (
    Finish,
    Prompt,
    ToolChoice,
    ToolOutcome,
    ToolSpec,
    complete,
    plan_reply,
)
from opentoken_sandbox.schema_values import value_for
from opentoken_sandbox.signing import Check, Signer
from opentoken_sandbox.tokens import count_text, group, pieces

WEATHER = ToolSpec(
    "get_weather",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
)
TIME = ToolSpec("get_time", {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]})


# --- tokens ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "a", "Hello world", "  spaced   out\n\ntext  ", "x" * 37, "Grüße 👋 ok"])
def test_pieces_rebuild_the_text_and_count_about_four_chars(text: str) -> None:
    parts = pieces(text)
    assert "".join(parts) == text
    assert all(len(p.strip()) <= 4 for p in parts)
    assert count_text(text) == (len(text) + 3) // 4


def test_group_cycles_sizes_and_reports_piece_counts() -> None:
    grouped = group(list("abcdefghij"), (2, 3))
    assert grouped == [("ab", 2), ("cde", 3), ("fg", 2), ("hij", 3)]


# --- signatures -----------------------------------------------------------------------------------------


def _flip(signature: str, at: int) -> str:
    ch = signature[at]
    return signature[:at] + ("A" if ch != "A" else "B") + signature[at + 1 :]


def test_signature_verifies_and_rejects_tampering() -> None:
    signer = Signer(b"secret")
    sig = signer.sign("kind", b"content")
    assert signer.check("kind", b"content", sig) is Check.VALID
    assert signer.check("kind", b"other content", sig) is Check.INVALID
    assert signer.check("other-kind", b"content", sig) is Check.INVALID
    for at in (0, 3, len(sig) // 2, len(sig) - 2):
        assert signer.check("kind", b"content", _flip(sig, at)) is Check.INVALID, at
    assert Signer(b"another secret").check("kind", b"content", sig) is Check.INVALID


def test_signature_accepts_url_safe_and_unpadded_forms() -> None:
    signer = Signer(b"secret")
    for salt in (b"a", b"b", b"c", b"d"):
        sig = signer.sign("kind", b"x", salt)
        url_safe = base64.urlsafe_b64encode(base64.b64decode(sig)).decode()
        assert signer.check("kind", b"x", url_safe) is Check.VALID
        assert signer.check("kind", b"x", url_safe.rstrip("=")) is Check.VALID


def test_foreign_and_undecodable_signatures_are_told_apart() -> None:
    signer = Signer(b"secret")
    real_looking = base64.b64encode(b"\x12\x34" * 100).decode()
    assert signer.check("kind", b"x", real_looking) is Check.FOREIGN
    assert signer.check("kind", b"x", "not base64 at all!") is Check.UNDECODABLE


# --- schema values --------------------------------------------------------------------------------------

JSON_SCHEMAS = [
    WEATHER.schema,
    {"type": "object", "properties": {}, "additionalProperties": False},
    {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "count": {"type": "integer", "minimum": 5, "maximum": 7},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 12}, "minItems": 2, "maxItems": 3},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
            "kind": {"const": "fixed"},
            "flag": {"type": ["boolean", "null"]},
        },
        "required": ["when", "count", "ratio", "tags", "maybe", "kind", "flag"],
    },
    # recursive $defs, as in gemini/nonstream_implicit_cache_hit.json
    {
        "$defs": {
            "DeepA": {"properties": {"b": {"$ref": "#/$defs/DeepB"}}, "required": ["b"], "type": "object"},
            "DeepB": {"properties": {"value": {"type": "string"}}, "required": ["value"], "type": "object"},
            "TreeNode": {
                "properties": {
                    "children": {"default": [], "items": {"$ref": "#/$defs/TreeNode"}, "type": "array"},
                    "label": {"type": "string"},
                },
                "required": ["label"],
                "type": "object",
            },
        },
        "properties": {"deep": {"$ref": "#/$defs/DeepA"}, "tree": {"$ref": "#/$defs/TreeNode"}},
        "required": ["tree", "deep"],
        "type": "object",
    },
    {
        "type": "object",
        "allOf": [
            {"properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
        ],
    },
]


@pytest.mark.parametrize("schema", JSON_SCHEMAS)
@pytest.mark.parametrize("variant", [0, 1, 2])
def test_generated_values_validate_against_json_schema(schema: dict[str, Any], variant: int) -> None:
    value = value_for(schema, variant=variant)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(value)


def test_generated_values_follow_google_openapi_schema() -> None:
    # gemini/nonstream_json_response_schema.json: upper-case types, snake_case any_of / property_ordering
    schema = {
        "properties": {
            "result": {
                "any_of": [
                    {
                        "properties": {"kind": {"enum": ["CityLocation"], "type": "STRING"}, "n": {"type": "INTEGER"}},
                        "property_ordering": ["n", "kind"],
                        "required": ["kind", "n"],
                        "type": "OBJECT",
                    }
                ]
            }
        },
        "required": ["result"],
        "type": "OBJECT",
    }
    value = value_for(schema)
    assert list(value["result"]) == ["n", "kind"]
    assert value["result"]["kind"] == "CityLocation"
    assert isinstance(value["result"]["n"], int)


def test_enum_values_vary_with_variant() -> None:
    assert value_for(WEATHER.schema, variant=0)["unit"] == "celsius"
    assert value_for(WEATHER.schema, variant=1)["unit"] == "fahrenheit"


# --- faults ---------------------------------------------------------------------------------------------


def test_fault_syntax() -> None:
    assert parse_fault("status=529") == FaultSpec(status=529)
    assert parse_fault("after_events=3, delay_ms=12.5") == FaultSpec(after_events=3, delay_ms=12.5)
    assert parse_fault("status=429;retry_after=4 drop_after=2") == FaultSpec(status=429, retry_after=4, drop_after=2)
    assert fault_in_text("hello [[fault:status=500]] there") == FaultSpec(status=500)
    assert fault_in_text("no marker") is None


@pytest.mark.parametrize("text", ["", "status", "status=abc", "colour=red", "status=200", "delay_ms=-1"])
def test_bad_fault_syntax_is_rejected(text: str) -> None:
    with pytest.raises(FaultSyntaxError):
        parse_fault(text)


def test_fault_queue_counts_and_filters_by_provider() -> None:
    queue = FaultQueue()
    queue.push(FaultSpec(status=429), 2, "google")
    queue.push(FaultSpec(status=529), 1, None)
    assert queue.take("anthropic") == FaultSpec(status=529)
    assert queue.take("anthropic") is None
    assert queue.take("google") == FaultSpec(status=429)
    assert queue.pending() == [{"count": 1, "provider": "google", **FaultSpec(status=429).as_dict()}]
    assert queue.take("google") == FaultSpec(status=429)
    assert queue.take("google") is None


# --- reply planning -------------------------------------------------------------------------------------


def _calls(prompt: Prompt) -> list[str]:
    return [c.name for c in plan_reply(prompt).calls]


def test_tools_are_called_only_when_asked() -> None:
    tools = (WEATHER, TIME)
    assert _calls(Prompt("Hello there", tools=tools)) == []
    assert _calls(Prompt("What does get_time say?", tools=tools)) == ["get_time"]
    assert _calls(Prompt("Please call a tool", tools=tools)) == ["get_weather"]
    assert _calls(Prompt("use get_time then get_weather", tools=tools)) == ["get_time", "get_weather"]
    assert _calls(Prompt("get_weather in parallel", tools=tools)) == ["get_weather", "get_weather"]
    assert _calls(Prompt("call 3 parallel get_weather", tools=tools)) == ["get_weather"] * 3
    assert _calls(Prompt("call tools in parallel", tools=tools)) == ["get_weather", "get_time"]


def test_tool_choice_is_respected() -> None:
    tools = (WEATHER, TIME)
    assert _calls(Prompt("call get_weather", tools=tools, choice=ToolChoice("none"))) == []
    assert _calls(Prompt("Hello", tools=tools, choice=ToolChoice("any"))) == ["get_weather"]
    assert _calls(Prompt("Hello", tools=tools, choice=ToolChoice("any", ("get_time",), True))) == ["get_time"]
    single = ToolChoice("auto", single=True)
    assert _calls(Prompt("use get_time and get_weather", tools=tools, choice=single)) == ["get_time"]


def test_parallel_calls_of_one_tool_get_different_arguments() -> None:
    calls = plan_reply(Prompt("call 2 parallel get_weather", tools=(WEATHER,))).calls
    assert calls[0].arguments != calls[1].arguments


def test_after_tool_results_the_model_answers_quoting_them() -> None:
    reply = plan_reply(Prompt("", tool_results=(ToolOutcome("get_weather", "3C and rain"),), tools=(WEATHER,)))
    assert reply.calls == ()
    assert "3C and rain" in reply.text
    assert "get_weather" in reply.text


def test_markers_select_special_outcomes() -> None:
    assert plan_reply(Prompt("x [[refusal]]")).special is Finish.REFUSAL
    assert plan_reply(Prompt("x [[blocked]]")).text == ""
    assert complete(plan_reply(Prompt("x [[max_tokens]]")), None).finish is Finish.MAX_TOKENS
    assert "[[" not in plan_reply(Prompt("echo me [[json]]")).text


def test_stop_sequences_and_max_tokens_cut_the_output() -> None:
    reply = plan_reply(Prompt("[[stop:HALT]]"))
    stopped = complete(reply, None, ("HALT",))
    assert stopped.finish is Finish.STOP_SEQUENCE and stopped.stop_sequence == "HALT"
    assert "HALT" not in stopped.text_str and stopped.text_str
    assert complete(reply, None, ("NEVER",)).finish is Finish.END
    short = complete(plan_reply(Prompt("Say something long enough")), 5)
    assert short.finish is Finish.MAX_TOKENS and short.output_tokens == 5


def test_thinking_counts_against_the_limit_and_can_exhaust_it() -> None:
    reply = plan_reply(Prompt("think [[max_tokens]]", thinking=True))
    exhausted = complete(reply, 5, thinking_exhausts=True)
    assert exhausted.text == () and exhausted.thinking_tokens == 5
    kept = complete(reply, None)
    assert kept.thinking and kept.text


# --- prompt cache ---------------------------------------------------------------------------------------


def test_breakpoint_cache_writes_then_reads() -> None:
    cache = PrefixCache(100)
    segments = [Segment(100, {"text": "system"}, breakpoint=True), Segment(10, {"text": "question 1"})]
    first = cache.breakpoints(segments, 0)
    assert (first.read, first.write) == (0, 100)
    again = cache.breakpoints([segments[0], Segment(12, {"text": "question 2"})], 0)
    assert (again.read, again.write) == (100, 0)
    longer = [segments[0], Segment(50, {"text": "more"}, breakpoint=True, ttl="1h")]
    grown = cache.breakpoints(longer, 0)
    assert (grown.read, grown.write_1h) == (100, 50)


def test_breakpoint_below_minimum_is_not_cached() -> None:
    cache = PrefixCache(100)
    assert cache.breakpoints([Segment(10, "x", breakpoint=True)], 1024).write == 0


def test_implicit_cache_hits_on_a_repeated_long_prefix() -> None:
    cache = PrefixCache(100)
    head = [Segment(300, "system"), Segment(5, "q1")]
    assert cache.implicit(head, 256) == 0
    assert cache.implicit([head[0], Segment(5, "q2")], 256) == 300
    assert cache.implicit([Segment(100, "short"), Segment(5, "q")], 256) == 0
