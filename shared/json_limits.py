"""JSON from a peer (a device, a remote API) parsed with limits: a bounded size is checked by the reader, the
nesting depth here, so a hostile document costs an error, not the process (Python's parser raises
RecursionError, not ValueError, on deep nesting, and a shallow limit keeps every walk of the result cheap)."""

from __future__ import annotations

import json
from typing import Any, TypeGuard

MAX_DEPTH = 32  # the deepest any answer we read nests is ~5 (OpenAI's: object → data list → item → field)


def is_whole_number(value: object) -> TypeGuard[int]:
    """A JSON integer: Python's bool is an int too, and `true` is no count."""
    return isinstance(value, int) and not isinstance(value, bool)


class JsonTooDeep(ValueError):
    """The document nests deeper than the limit."""


def parse_json(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, but ValueError (JSONDecodeError or JsonTooDeep) for anything unusable, never RecursionError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels") from None
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:  # iterative: the check itself must not recurse
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > max_depth:
                    raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
                pending.append((child, depth + 1))
    return value
