"""Textual user interface: the live monitor."""
