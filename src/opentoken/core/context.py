"""The request a piece of code is working for, in a context variable, so every log line of a request says which.

The HTTP middleware sets ``REQUEST_ID`` for the request's task (asyncio copies the context into tasks it
starts, so background work started for a request keeps the id). ``configure_logging`` installs a filter
that puts it on every record as ``request_id`` ("-" outside a request) and a format that prints it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str) -> None:
    """Root logging for the gateway process: the level, and the request id on every line."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
