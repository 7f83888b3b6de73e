"""User-facing errors: a problem list with file, field path and expectation, raised all at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

SHOWN_IDS = 8
"""Known ids listed after an unknown one when none is near it."""


def unknown(kind: str, ident: object, known: Iterable[object]) -> str:
    """"unknown <kind> '<ident>'" and what the user may have meant: the nearest known ids, or the first
    few of them when none is near."""
    ids = sorted({str(k) for k in known})
    near = difflib.get_close_matches(str(ident), ids, n=3, cutoff=0.6)
    if near:
        return f"unknown {kind} '{ident}' (nearest: {', '.join(near)})"
    if not ids:
        return f"unknown {kind} '{ident}' (there are none)"
    more = f", ... ({len(ids)} in all)" if len(ids) > SHOWN_IDS else ""
    return f"unknown {kind} '{ident}' (known: {', '.join(ids[:SHOWN_IDS])}{more})"


@dataclass(frozen=True)
class Problem:
    """One problem found in a user's input.

    `file` is the path of the offending file (or "" for command-line input), `path` the dotted field
    path inside it (e.g. ``lines[0].patterns[1].timetable``) or the command-line argument, `message`
    says what was expected, and `line` is the 1-based line number in the file when known.

    Printed as ``file:line: path: message``; parts that are not known are left out (a problem with
    no file prints ``path: message``, one with neither file nor path only the message).
    """

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        if self.path:
            where = f"{where}: {self.path}" if where else self.path
        return f"{where}: {self.message}" if where else self.message


@dataclass
class UserError(Exception):
    """A mistake in the user's files or arguments; carries every problem found (exit code 2)."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.problems = list(dict.fromkeys(self.problems))  # the same problem once, order kept

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    @classmethod
    def single(cls, file: str, path: str, message: str, line: int | None = None) -> UserError:
        return cls([Problem(file, path, message, line)])


class ProblemCollector:
    """Accumulates problems so that validation reports all of them, not only the first."""

    def __init__(self, file: str = "") -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, file: str | None = None, line: int | None = None) -> None:
        self.problems.append(Problem(self.file if file is None else file, path, message, line))

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise UserError(list(self.problems))
