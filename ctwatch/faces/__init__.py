"""Faces: what renders the engine's Answers (the Textual UI, --once reports, the exporter)."""
