"""The OpenAI Agents SDK (``openai-agents``, pinned) running an agent with one function tool through the
gateway, on a Claude and a Gemini model, whole and streamed. The SDK speaks the Responses API by default."""

from __future__ import annotations

import pytest
from agents import Agent, ModelSettings, OpenAIResponsesModel, RunConfig, Runner, function_tool
from openai import AsyncOpenAI
from openai.types.shared import Reasoning

from support.servers import Gateway

MODELS = ["anthropic/claude-sonnet-4-5", "google/gemini-3-flash"]
CALLS: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    CALLS.append(city)
    return f"It is sunny in {city}, 21 degrees."


def agent(gateway: Gateway, model: str) -> Agent:
    client = AsyncOpenAI(base_url=gateway.v1, api_key=gateway.key, max_retries=0)
    return Agent(
        name="Weather",
        instructions="Answer weather questions with the get_weather tool.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model=model, openai_client=client),
        model_settings=ModelSettings(reasoning=Reasoning(effort="low", summary="auto")),
    )


@pytest.mark.parametrize("stream", [False, True], ids=["run", "streamed"])
@pytest.mark.parametrize("model", MODELS)
async def test_agent_with_one_function_tool(gateway: Gateway, model: str, stream: bool) -> None:
    CALLS.clear()
    config = RunConfig(tracing_disabled=True)
    prompt = "Use get_weather to tell me the weather in Oslo."
    if stream:
        result = Runner.run_streamed(agent(gateway, model), prompt, run_config=config)
        events = [event.type async for event in result.stream_events()]
        assert "raw_response_event" in events and "run_item_stream_event" in events
    else:
        result = await Runner.run(agent(gateway, model), prompt, run_config=config)  # type: ignore[assignment]
    assert len(CALLS) == 1
    output = str(result.final_output)
    assert "get_weather tool returned" in output and f"sunny in {CALLS[0]}" in output
    kinds: list[str] = [item.type for item in result.new_items]
    assert kinds.count("tool_call_item") == 1 and kinds.count("tool_call_output_item") == 1
    assert kinds[-1] == "message_output_item"
    usage = result.context_wrapper.usage
    assert usage.requests == 2 and usage.input_tokens > 0 and usage.output_tokens > 0
