"""Data made inert where people look at it: a terminal, a spreadsheet.

Summaries, resource ids and account names come from plugins and from AWS (an account's name in
Organizations, a tag): text that anyone with a foothold in one member account may have chosen.
Printed raw, an escape sequence rewrites the screen ("REAL PROBLEM" overwritten by "all clear") or
a window title; opened in a spreadsheet, a cell beginning with "=" runs as a formula. Pure
functions, applied where a renderer emits data (Slack's runs are literal already: notify/slack.py).
"""
from __future__ import annotations

import re
from typing import Any

# ECMA-48 as terminals read it: a control string (OSC, DCS, SOS, PM, APC: a title, a hyperlink...)
# up to its terminator; a control sequence (CSI: colours, cursor moves, erasing); any other escape.
# An unterminated string loses only its introducer: what follows is then plain, visible text.
_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]?"
)
# What is left: C0 and C1 controls and DEL, plus the bidirectional overrides and isolates, which
# reorder what is shown ("Trojan Source"). Line breaks and tabs become spaces: a field stays one field.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACING = re.compile(r"[\t\n\r]")
#: A spreadsheet reads a cell that begins with one of these as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def terminal(text: str) -> str:
    """``text`` safe to print on a terminal: escape sequences and control characters removed, tabs
    and line breaks turned into spaces. Apply it before cutting text to a width."""
    return _CONTROL.sub("", _SPACING.sub(" ", _SEQUENCE.sub("", text)))


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will show and not run: text that begins with =, +, -, @, a tab or a
    carriage return gets a leading ' (OWASP's advice); other values are returned as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
