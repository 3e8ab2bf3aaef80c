"""A model's life: when it is deprecated and retired, and what a call to it says or gets.

Dates are UTC days; a date takes effect at 00:00 UTC that day. Once a deprecation or retirement date is
recorded, every call naming the model carries (the date may still be ahead, as RFC 9745 allows):

- ``Deprecation: @<unix seconds>`` (RFC 9745): the deprecation date, or the retirement date if that is all
  that is known (a retired model is deprecated);
- ``Sunset: <HTTP-date>`` (RFC 8594): the retirement date;
- ``Link: </v1/models/{successor}>; rel="successor-version"`` (RFC 5829) when a successor is recorded.

From the retirement date on, the operator's policy (``OPENTOKEN_RETIRED_MODELS``) applies:

- ``successor`` (default): the call is answered by the successor (followed through retired successors),
  and the response says so in ``x-opentoken-retired-model`` (the id asked for) and
  ``x-opentoken-successor-model`` (the id that answered); without a usable successor it is refused;
- ``refuse``: 410 ``model_retired`` naming the successor.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from email.utils import format_datetime
from typing import Literal

from opentoken.catalog.model import Lifecycle

RetiredPolicy = Literal["successor", "refuse"]
State = Literal["active", "deprecated", "retired", "disabled", "unpriced"]
RETIRED_MODEL_HEADER = "x-opentoken-retired-model"
SUCCESSOR_MODEL_HEADER = "x-opentoken-successor-model"


def day_start(day: date) -> datetime:
    """00:00 UTC of ``day``: the instant a lifecycle date takes effect."""
    return datetime.combine(day, time(0), UTC)


def is_retired(lifecycle: Lifecycle, now: datetime) -> bool:
    return lifecycle.retired is not None and now >= day_start(lifecycle.retired)


def is_deprecated(lifecycle: Lifecycle, now: datetime) -> bool:
    return any(d is not None and now >= day_start(d) for d in (lifecycle.deprecated, lifecycle.retired))


def boundaries(lifecycle: Lifecycle) -> list[datetime]:
    """The instants at which this lifecycle changes a model's state."""
    return [day_start(d) for d in (lifecycle.deprecated, lifecycle.retired) if d is not None]


def lifecycle_headers(lifecycle: Lifecycle) -> dict[str, str]:
    """``Deprecation``, ``Sunset`` and the successor ``Link`` for a model with a recorded end of life."""
    headers: dict[str, str] = {}
    known = [d for d in (lifecycle.deprecated, lifecycle.retired) if d is not None]
    if not known:
        return headers
    headers["deprecation"] = f"@{int(day_start(min(known)).timestamp())}"
    if lifecycle.retired is not None:
        headers["sunset"] = format_datetime(day_start(lifecycle.retired), usegmt=True)
    if lifecycle.successor:
        headers["link"] = f'</v1/models/{lifecycle.successor}>; rel="successor-version"'
    return headers
