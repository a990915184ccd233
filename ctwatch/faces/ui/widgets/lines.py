"""One-line texts made of whole parts: a part that does not fit is left out, never cut."""

from __future__ import annotations

from typing import Union

from rich.text import Text

Piece = Union[str, tuple]  # text, or (text, style)


def _length(pieces: tuple) -> int:
    return sum(len(p if isinstance(p, str) else p[0]) for p in pieces)


class Line:
    """Parts are added in order of importance; once one is left out, so are the rest
    (a later, shorter part would read as if it came next)."""

    def __init__(self, width: int) -> None:
        self.width = max(0, width)
        self.text = Text(no_wrap=True, overflow="crop", end="")
        self.full = False

    def room(self) -> int:
        return 0 if self.full else self.width - len(self.text)

    def fits(self, *pieces: Piece) -> bool:
        return not self.full and _length(pieces) <= self.room()

    def add(self, *pieces: Piece) -> bool:
        """All `pieces` as one part, or none of them."""
        if not self.fits(*pieces):
            self.full = True
            return False
        for piece in pieces:
            if isinstance(piece, str):
                self.text.append(piece)
            else:
                self.text.append(*piece)
        return True

    def first(self, *choices: tuple) -> bool:
        """The first of `choices` (each a tuple of pieces) that fits."""
        for pieces in choices:
            if self.fits(*pieces):
                return self.add(*pieces)
        self.full = True
        return False


def by_priority(parts: list, width: int) -> tuple:
    """`parts`: (priority, pieces) in display order, 0 the most important; `pieces` may
    also be a list of alternatives, longest first. Parts are taken by priority while they
    fit (a long one left out does not stop a shorter, less important one), each in its
    longest form that fits, then drawn in display order. Returns (text, parts kept)."""
    chosen: dict = {}
    used = 0
    for index in sorted(range(len(parts)), key=lambda i: parts[i][0]):
        pieces = parts[index][1]
        for choice in pieces if isinstance(pieces, list) else [pieces]:
            if used + _length(choice) <= width:
                chosen[index] = choice
                used += _length(choice)
                break
    line = Line(width)
    for index in sorted(chosen):
        line.add(*chosen[index])
    return line.text, len(chosen)
