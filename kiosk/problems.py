"""Problems found in input from outside, each pinned to a file, line and field.

Validation collects every problem instead of stopping at the first, so a
technician fixes a config file in one pass.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, field

_SHOWN = reprlib.Repr()  # Python 3.11's Repr takes no arguments
_SHOWN.maxlevel, _SHOWN.maxdict, _SHOWN.maxlist, _SHOWN.maxtuple, _SHOWN.maxset = 2, 4, 4, 4, 4
_SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlong = 60, 60, 40


def shown(value: object) -> str:
    """A value from outside as it goes into a message: its repr, cut short.

    Never the whole repr: a YAML alias repeated nine times nine levels deep is a billion items
    when written out, and a message must not be what runs a board out of memory.
    """
    return _SHOWN.repr(value)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class Problems:
    """An accumulator handed down through validation functions."""

    file: str
    items: list[Problem] = field(default_factory=list)

    def add(self, line: int | None, path: str, message: str) -> None:
        self.items.append(Problem(self.file, line, path, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self):
        return iter(self.items)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.items)


class InvalidInput(Exception):
    """Raised at the border when input has problems; carries all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
