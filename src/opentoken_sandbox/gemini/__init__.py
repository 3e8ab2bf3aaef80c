"""Simulated Gemini API (``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent``)."""
