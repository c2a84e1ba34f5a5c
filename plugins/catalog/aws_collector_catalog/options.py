"""The catalog's option checks: a bad value fails the check's scan with a message naming the option.

aws-collector's config already refuses an option of the wrong type (each option has its default's
type); these say what no type can, such as a number of days that must be at least one.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from collector_core import CollectorContext


class BadOption(ValueError):
    """An option's value this check cannot use."""


def days(ctx: CollectorContext, check: str, name: str, *, minimum: int = 1) -> int:
    """A whole number of days, at least ``minimum``."""
    value: Any = ctx.options.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadOption(f"{check}: option {name} must be a whole number of days >= {minimum}, got {value!r}")
    return value


def date_or_today(ctx: CollectorContext, check: str, name: str) -> dt.date:
    """An ISO date (``2026-01-31``), or the run's own date when the option is empty."""
    value: Any = ctx.options.get(name)
    if value in (None, ""):
        return ctx.now.astimezone(dt.UTC).date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise BadOption(f"{check}: option {name} must be a date such as 2026-01-31 (or empty for the "
                        f"run's date), got {value!r}") from None


def iso(moment: dt.datetime | None) -> str | None:
    """A timestamp as an ISO 8601 UTC string, as findings carry dates."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
