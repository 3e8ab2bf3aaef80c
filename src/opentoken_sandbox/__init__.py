"""Simulated Anthropic Messages API and Gemini API servers speaking the real wire formats.

The sandbox is an independent implementation of the providers' side of the wire (it does not import
``opentoken.providers``): it enforces the providers' request rules with real-shaped errors, replies
deterministically from the prompt, streams with the recorded event framing, counts tokens, simulates prompt
caching, signs and verifies thinking / thought signatures, and injects faults.

Entry points: ``opentoken_sandbox.config.SandboxConfig`` and, in ``opentoken_sandbox.app``, ``build_app``,
``serve`` and ``running_sandbox``. Control endpoints are described in ``opentoken_sandbox.control``.

Endpoints: Anthropic ``/v1/messages`` and ``/v1/messages/count_tokens``; Gemini ``generateContent``,
``streamGenerateContent``, ``countTokens``, ``embedContent`` and ``batchEmbedContents``. Beyond plain replies it
simulates the model-dependent Anthropic rules (snapshot ids, output limits, adaptive thinking and its
``display``, effort, mid-conversation system messages), context management, prompt caching with 5-minute and
1-hour TTLs, documents with citations, the web search server tool with ``pause_turn``, deterministic Gemini
embeddings, and Google Search grounding. ``docs/sandbox.md`` describes all of it.

Prompt markers (in the last user text): ``[[max_tokens]]`` ``[[refusal]]`` ``[[safety]]`` ``[[blocked]]``
``[[stop:XYZ]]`` ``[[json]]`` ``[[redacted_thinking]]`` ``[[web_search]]`` (or the word "search")
``[[pause_turn]]`` and ``[[fault:...]]`` (see ``scenario``, ``anthropic.search``, ``gemini.grounding`` and
``faults``). Faults are also selected by the ``x-sandbox-fault`` header or queued with ``POST /_sandbox/faults``.

Layout: ``scenario`` is the provider-neutral model (plan a reply, cut it to the limits); each provider folder
has ``validate``/``conversation`` or ``payload``/``validate``/``signatures`` (request rules), ``parse`` (raw
JSON -> typed call), ``render``/``events`` (wire output) and ``handler``. Request bodies are validated as
raw JSON on purpose: the point is to answer malformed input with the provider's own error messages, which a
typed decoder would pre-empt with its own.
"""
