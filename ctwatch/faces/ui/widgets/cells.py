"""DataTable cells that render as styled text but sort and compare by their real value."""

from __future__ import annotations

import ipaddress
from typing import Optional

from rich.text import Text

from ctwatch.model import format as fmt
from ctwatch.sources.safe_text import safe_line


class Cell:
    """Text shown, a separate sort key; equal when both (and the style) are equal."""

    __slots__ = ("text", "sort_key", "style", "justify")

    def __init__(self, text: str, sort_key, style: str = "", justify: str = "left") -> None:
        self.text = safe_line(text)  # table text is someone else's: never obeyed
        self.sort_key = sort_key
        self.style = style
        self.justify = justify

    def __rich__(self) -> Text:
        # Never markup: keys like "[UNREPLIED]" are data.
        return Text(self.text, style=self.style, justify=self.justify, no_wrap=True, end="")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Cell)
            and self.text == other.text
            and self.style == other.style
            and self.sort_key == other.sort_key
        )

    def __lt__(self, other: Cell) -> bool:
        return self.sort_key < other.sort_key

    def __hash__(self) -> int:
        return hash((self.text, self.style))

    def __repr__(self) -> str:
        return f"Cell({self.text!r})"


def number(value: int, style: str = "", room: Optional[int] = None) -> Cell:
    """`room`: cells for the number (after its leading space); abbreviated beyond it."""
    return Cell(" " + fmt.count(value, room), value, style, "right")


def share(fraction: float) -> Cell:
    return Cell(" " + fmt.percent(fraction), fraction, "", "right")


def delta(value: Optional[int], room: Optional[int] = None) -> Cell:
    if not value:
        return Cell("", 0, "", "right")
    # Growth is what fills the table: it gets the warning colour; shrinking the calm one.
    style = "bold yellow" if value > 0 else "bold green"
    return Cell(" " + fmt.signed(value, room), value, style, "right")


def name_key(dim: str, label: str) -> tuple:
    """Addresses in numeric order (v4 before v6), ports numerically, the rest by text."""
    if dim in ("src", "dst"):
        try:
            addr = ipaddress.ip_address(label.split("/")[0])
            return (addr.version, int(addr), label)
        except ValueError:
            pass
    if label.isdigit():
        return (0, int(label), label)
    return (9, 0, label)


def key(dim: str, label: str, shown: str, style: str = "") -> Cell:
    return Cell(shown, name_key(dim, label), style)


def text(value: str, sort_key=None, style: str = "") -> Cell:
    return Cell(value, value if sort_key is None else sort_key, style)
