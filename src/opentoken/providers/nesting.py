"""A bound on how deeply nested the client's JSON values (tool schemas, tool-call arguments) may be.

The body parser accepts up to 1,024 levels, but encoding the upstream body recurses once per level and
stops near Python's recursion limit; a value nested past ``MAX_NESTING`` is refused up front with an
``InvalidRequest`` naming the parameter. The check is iterative and stops at the first level too deep.
"""

from __future__ import annotations

from typing import Any

from opentoken.core.errors import InvalidRequest, Loc

MAX_NESTING = 100  # levels of objects and arrays (a JSON Schema property is two: properties -> name)


def check_nesting(value: Any, where: Loc, limit: int = MAX_NESTING) -> None:
    """Raise ``InvalidRequest`` naming ``where`` when ``value`` nests objects/arrays deeper than ``limit``."""
    level: list[Any] = [value]
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise InvalidRequest(f"The value is nested more than {limit} levels deep.", loc=where)
        deeper: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                deeper.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                deeper.extend(v for v in item if isinstance(v, dict | list))
        level = deeper
