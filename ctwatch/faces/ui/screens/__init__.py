"""The screens of the live monitor: the main view, the drill-down, the incident views."""
