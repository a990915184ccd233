"""The engine: one poll of a source becomes one immutable Answers (clock, budget, history)."""
