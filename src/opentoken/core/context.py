"""The request a piece of code is working for, in a context variable, so every log line of a request says which.

The HTTP middleware sets ``REQUEST_ID`` for the request's task (asyncio copies the context into tasks it
starts, so background work started for a request keeps the id). ``RequestIdFilter`` puts it on every record
as ``request_id`` ("-" outside a request); the process's log handler (``http.access.configure_logging``)
installs it, and ``LOG_FORMAT`` prints it.
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
