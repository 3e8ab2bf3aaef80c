"""Simulated Anthropic Messages API and Gemini API servers speaking the real wire formats.

The sandbox is an independent implementation of the providers' side of the wire: it enforces the
providers' request rules with real-shaped errors, replies deterministically from the prompt, streams with
the recorded event framing, counts tokens, and can inject faults. Entry points live in
``opentoken.sandbox.app`` (``build_app``, ``serve``, ``running_sandbox``) and ``opentoken.sandbox.config``.
"""
