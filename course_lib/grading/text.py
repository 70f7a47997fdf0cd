"""Every text that comes from a submission is made safe here before it reaches CSV, Markdown or the
terminal: file names, messages, exception texts, written answers.

- invalid UTF-8 (file names arrive as surrogate escapes) and lone surrogates ("\\ud800") become
  visible escapes (`\\xff`, `\\ud800`), so writing UTF-8 never fails;
- control characters (terminal escape sequences, carriage returns, NUL) become `\\x1b`-style
  escapes; newlines and tabs are kept in long texts, escaped in names;
- length is capped, with a note saying how much was cut.
"""
from __future__ import annotations

import os
import re

#: caps, in characters
MAX_NAME = 200
MAX_MESSAGE = 10_000
MAX_WRITTEN = 20_000

_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _valid_unicode(text: str) -> str:
    # surrogate escapes of undecodable bytes (file names) -> \xNN; other lone surrogates -> \udNNN
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    out = []
    for ch in text:
        if "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xdc00:02x}")
        elif "\ud800" <= ch <= "\udfff":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def _cut(text: str, limit: int, total: int | None = None) -> str:
    """At most `limit` characters, with a note of what was cut (cutting again changes nothing);
    `total` is the length of the original text when `text` is already a part of it."""
    total = len(text) if total is None else total
    if total <= limit:
        return text
    keep = max(limit - 48, 0)
    return text[:keep] + f" [... {total - keep} more characters cut]"[: limit - keep]


def clean(text: object, limit: int = MAX_MESSAGE) -> str:
    """A long text (message, answer): valid UTF-8, no control characters but newline and tab."""
    if not isinstance(text, str):
        try:
            text = str(text)
        except Exception:
            text = "<text could not be shown>"
    total = len(text)
    text = text[: limit * 4]  # bound the work before escaping
    text = _CONTROL_TEXT.sub(_escape, _valid_unicode(text.replace("\r\n", "\n")))
    return _cut(text, limit, max(total, len(text)) if total > limit * 4 else None)


def clean_name(name: object, limit: int = MAX_NAME) -> str:
    """A name (a student's folder, a file name): one line, valid UTF-8."""
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    text = _CONTROL_NAME.sub(_escape, _valid_unicode(str(name)))
    return _cut(text, limit)


def csv_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def fence(text: str) -> str:
    """A Markdown code fence longer than any run of backticks in `text`."""
    longest = max((len(m.group()) for m in re.finditer(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)
