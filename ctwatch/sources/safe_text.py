"""Making outside text safe to print: control and invisible characters become visible escapes.

Everything ctwatch shows comes from files someone else wrote: the table, a recording a
stranger sent, the kernel log, process names, file names. An ESC in any of them would let
that someone clear the screen, retitle the terminal or hide text (bidi overrides), so each
such character is printed as a backslash escape (`\\x1b`, `\\u202e`) instead: still visible,
still searchable, never obeyed.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text:
# Arabic letter mark, Mongolian vowel separator, zero-width and direction marks, line and
# paragraph separators, bidi embeddings/overrides/isolates, invisible operators, BOM,
# interlinear annotations, lone surrogates (from undecodable bytes) and Unicode tags.
_INVISIBLE = (
    "\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f"
)
_UNSAFE_LINE = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
# Multi-line output (a text report) keeps its newlines and tabs; nothing else.
_UNSAFE_BLOCK = re.compile(f"[\x00-\x08\x0b-\x1f{_INVISIBLE}]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
        code -= 0xDC00
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_line(text: object, limit: int = 0) -> str:
    """`text` as one printable line: every control or invisible character escaped
    (newlines and tabs too). `limit` > 0 cuts the result to that many characters."""
    s = text if isinstance(text, str) else str(text)
    if _UNSAFE_LINE.search(s):
        s = _UNSAFE_LINE.sub(_escape, s)
    if limit > 0 and len(s) > limit:
        s = s[: max(0, limit - 3)] + "..."
    return s


def safe_block(text: str) -> str:
    """Multi-line text (a report) with its newlines and tabs kept, everything else escaped."""
    if _UNSAFE_BLOCK.search(text):
        return _UNSAFE_BLOCK.sub(_escape, text)
    return text


def safe_bytes(raw: bytes, limit: int = 0) -> str:
    """Bytes from a file as one printable line (undecodable bytes escaped too)."""
    return safe_line(raw.decode("utf-8", "surrogateescape"), limit)


# Spreadsheets run a cell that starts with one of these as a formula (CSV injection);
# tab and carriage return also start one in some of them (OWASP's guidance).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def safe_cell(value: object) -> object:
    """A CSV cell that no spreadsheet will run: text starting like a formula gets a
    leading apostrophe (plain numbers, negative ones included, stay numbers)."""
    if value is None or isinstance(value, (int, float)):
        return value
    s = safe_line(value)
    if s.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(s):
        return "'" + s
    return s
