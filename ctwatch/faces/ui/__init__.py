"""Textual user interface: the live monitor."""

from __future__ import annotations
