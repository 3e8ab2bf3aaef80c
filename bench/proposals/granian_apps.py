"""The pass-through and the gateway as ASGI apps for granian, for the server A/B (granian against uvicorn with
uvloop and httptools); not used by the gateway itself.

    PASSTHROUGH_UPSTREAM=http://127.0.0.1:8090 uv run --with granian granian --interface asgi \
        --loop uvloop --workers 1 --port 8100 bench.proposals.granian_apps:passthrough
    uv run --with granian granian --interface asgi --loop uvloop --workers 1 --port 8100 \
        --factory bench.proposals.granian_apps:gateway          # with the gateway's OPENTOKEN_* environment
"""

from __future__ import annotations

import os
from typing import Any


def gateway() -> Any:
    from opentoken.app import build_app
    from opentoken.settings import load_settings

    return build_app(load_settings())


def __getattr__(name: str) -> Any:
    if name == "passthrough":
        from bench.passthrough import build_app

        return build_app(os.environ["PASSTHROUGH_UPSTREAM"])
    raise AttributeError(name)
