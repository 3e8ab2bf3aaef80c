"""Choosing where a call goes: deployments, retries before the first byte, fallbacks."""
