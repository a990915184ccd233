"""Which commands work now: the footer, the keys and the palette all ask `command_state`."""

from __future__ import annotations

from typing import Optional

from ctwatch.faces.ui.commands import COMMANDS as COMMAND_TABLE
from ctwatch.faces.ui.screens.drill import DrillScreen
from ctwatch.faces.ui.screens.info_screen import InfoScreen
from ctwatch.faces.ui.screens.monitor_screen import AnswersScreen
from ctwatch.faces.ui.screens.namespaces_screen import NamespacesScreen, NamespacesTable
from ctwatch.faces.ui.screens.rules_screen import RulesScreen
from ctwatch.faces.ui.widgets.entries import EntriesTable
from ctwatch.faces.ui.widgets.panel import BreakdownPanel

TABLE_VIEWS = (NamespacesScreen, RulesScreen)


class CommandStates:
    """Mixed into CtwatchApp (screen, frozen, incident_state are the app's)."""

    def bindings_state(self, screen) -> tuple:
        focused = screen.focused
        states = tuple(self.command_state(c.action, screen) for c in COMMAND_TABLE)
        return (id(screen), id(focused), states)

    # ---- which commands work now: the footer, the keys and the palette ask this ----
    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        if parameters:  # as the command table spells it: open_view('namespaces')
            action = f"{action}({', '.join(repr(p) for p in parameters)})"
        return self.command_state(action, self.screen)

    def command_state(self, action: str, screen) -> Optional[bool]:
        """True: available; None: shown but disabled; False: hidden and passed on."""
        if action in ("quit", "command_palette"):
            return True
        if not isinstance(screen, AnswersScreen):
            return False
        focused = screen.focused
        if action == "back":
            return isinstance(screen, (DrillScreen, InfoScreen))
        if action == "drill":
            if isinstance(focused, NamespacesTable):
                return focused.selected() is not None
            return isinstance(focused, BreakdownPanel) and focused.selected_key() is not None
        if action == "sort":
            sortable = (BreakdownPanel, EntriesTable, NamespacesTable)
            return True if isinstance(focused, sortable) else None
        if action in ("reset_baseline", "rolling_baseline", "filter") and isinstance(
            screen, TABLE_VIEWS
        ):
            return False  # breakdown keys: these views list namespaces or rules
        if action in ("reset_baseline", "rolling_baseline"):
            return None if self.frozen else True
        return self.incident_state(action, screen)
