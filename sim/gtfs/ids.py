"""Our ids for a feed's ids: letters, digits, '_' and '-' only (other characters become '_'), at
most 64 characters, unique within one kind of item."""

from __future__ import annotations

import re

_BAD = re.compile(r"[^A-Za-z0-9_\-]")


class IdMap:
    """Ids given out for one kind of item; `of` maps each feed id taken to ours."""

    def __init__(self) -> None:
        self.of: dict[str, str] = {}
        self._used: set[str] = set()

    def take(self, raw: str) -> str:
        """A new id like `raw` (suffixed -2, -3, ... when taken already)."""
        base = _BAD.sub("_", raw)[:60] or "x"
        ident, k = base, 1
        while ident in self._used:
            k += 1
            ident = f"{base}-{k}"
        self._used.add(ident)
        self.of.setdefault(raw, ident)
        return ident
