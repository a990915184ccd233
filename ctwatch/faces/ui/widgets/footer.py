"""The key footer, without Textual's leak of one set of key widgets per redraw."""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """Textual's footer rebuilds its keys whenever the bindings are refreshed. Each key
    watches the footer's `compact` through `data_bind`, and Textual drops the watchers of
    removed keys only when `compact` changes, which it never does here: every rebuild
    kept its 8 keys alive (~25 kB each; Textualize/textual#6666). Poking `compact` after
    a rebuild makes Textual prune them."""

    async def recompose(self) -> None:
        await super().recompose()
        self.mutate_reactive(TextualFooter.compact)
