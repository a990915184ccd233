"""Messages from the polling worker to the UI thread."""

from __future__ import annotations

from textual.message import Message

from ctwatch.engine.answers import Answers


class AnswersReady(Message):
    """One poll's result. A newer one waiting in the queue replaces an unprocessed older
    one, so a busy UI thread skips stale samples instead of falling behind."""

    def __init__(self, sample: Answers) -> None:
        super().__init__()
        self.sample = sample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AnswersReady)
