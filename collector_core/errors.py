"""How a failure reads, wherever it is reported: one (code, message) pair for any exception."""
from __future__ import annotations

from botocore.exceptions import ClientError

#: A message longer than this is cut: an error must name what failed, not carry the data it failed on.
MAX_MESSAGE_CHARS = 500


def error_of(exc: BaseException) -> tuple[str, str]:
    """(AWS error code or exception class, message) of an exception."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code, message = err.get("Code") or type(exc).__name__, err.get("Message") or str(exc)
    else:
        code, message = type(exc).__name__, str(exc)
    return code, shorten(message)


def describe(exc: BaseException) -> str:
    """``Code: message`` of an exception, for one line of output."""
    return ": ".join(error_of(exc))


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Text cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
