"""The `/` prompt: an IP or CIDR, or filter words, to drill into."""

from __future__ import annotations

import ipaddress

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ctwatch.engine.answers import Focus
from ctwatch.model.dimensions import WORDS
from ctwatch.model.filters import PROTOCOLS
from ctwatch.model.filters import STATES as ALL_STATES

STATES = frozenset(ALL_STATES)


def _is_network(token: str) -> bool:
    try:
        ipaddress.ip_network(token, strict=False)
        return True
    except ValueError:
        return False


def parse_focus(text: str, bare_address: str = "src") -> Focus:
    """`10.1.2.3`, `10.0.0.0/8`, `dst 10.0.0.5 dport 443`, `src=1.2.3.4 proto tcp`,
    `SYN_SENT`, `udp`... A bare address means `bare_address` (src unless the
    destinations panel had the focus). ValueError with a readable message otherwise."""
    tokens = text.replace("=", " ").replace(",", " ").split()
    if not tokens:
        raise ValueError("type an IP address or CIDR, or e.g. dst 10.0.0.5 dport 443")
    pairs = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        word = WORDS.get(token.lower())
        if word is not None:
            if i + 1 >= len(tokens):
                raise ValueError(f"{token} needs a value")
            value = tokens[i + 1]
            pairs.append((word, value.upper() if word == "state" else value.lower()))
            i += 2
            continue
        if _is_network(token):
            pairs.append((bare_address, token))
        elif token.lower() in PROTOCOLS:
            pairs.append(("proto", token.lower()))
        elif token.upper() in STATES:
            pairs.append(("state", token.upper()))
        elif token.isdigit():
            pairs.append(("dport", token))
        else:
            raise ValueError(f"not an address, CIDR, protocol, state or port: {token!r}")
        i += 1
    return Focus.of(*pairs)


class FilterPrompt(ModalScreen):
    """Dismisses with a Focus, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", key_display="esc")]

    def __init__(self, bare_address: str = "src") -> None:
        super().__init__()
        self.bare_address = bare_address

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box") as box:
            box.border_title = "Drill into"
            yield Input(
                placeholder=f"IP or CIDR ({self.bare_address}), or: dst IP proto tcp dport 443",
                id="prompt-input",
            )
            yield Label("", id="prompt-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            focus = parse_focus(event.value, self.bare_address)
        except ValueError as exc:
            self.query_one("#prompt-error", Label).update(str(exc))
            return
        self.dismiss(focus)

    def action_cancel(self) -> None:
        self.dismiss(None)
