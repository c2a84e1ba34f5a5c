"""Posting to a webhook as every HTTP channel must (Slack, Teams, the signed webhook, a plugin's):
paced, retried on 429 and 5xx after the answer's Retry-After (seconds or an HTTP date) or else a
backoff, and on network errors; bounded in attempts and in every wait; and never showing the URL,
which for a webhook is often the secret itself: messages name its host only.

The clock and the sleep are the caller's (a channel passes ``ctx.clock`` and ``ctx.sleep``), so
tests see every wait without waiting.
"""
from __future__ import annotations

import email.utils
import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping

from collector_core.aws.clients import note_endpoint
from collector_core.channel import ChannelError

#: The longest wait a Retry-After may ask for; a Lambda function has to finish some time.
MAX_RETRY_AFTER = 60.0
MAX_ATTEMPTS = 5
JSON = "application/json; charset=utf-8"


def retry_after(value: str | None, *, now: float, default: float) -> float:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP-date, RFC 9110 10.2.3),
    within 0 and MAX_RETRY_AFTER; ``default`` when there is none or it cannot be read."""
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return default
    return max(0.0, min(MAX_RETRY_AFTER, seconds))


def backoff(attempt: int) -> float:
    """The wait before retry ``attempt`` + 1 when the server says nothing: 1, 2, 4, 8, 8... seconds."""
    return min(8.0, 0.5 * 2**attempt)


def host_of(url: str) -> str:
    """The URL's host, the most of a webhook URL a message may show."""
    try:
        return urllib.parse.urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def usable_url(url: str) -> bool:
    """Whether this is an http(s) URL with a host (and a port, if any, that parses)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 (a malformed port raises here, not when posting)
        return parts.scheme in ("https", "http") and bool(parts.hostname)
    except ValueError:
        return False


class Poster:
    """Posts bodies to one URL in order: at least ``min_interval`` seconds apart, each retried."""

    def __init__(self, url: str, *, what: str, error: type[Exception] = ChannelError, min_interval: float = 0.0,
                 max_attempts: int = MAX_ATTEMPTS, timeout: float = 10.0, content_type: str = JSON,
                 headers: Callable[[bytes], Mapping[str, str]] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.url, self.what, self.error = url, what, error  # what: "the Slack webhook"
        self.min_interval, self.max_attempts, self.timeout = min_interval, max_attempts, timeout
        self.content_type = content_type
        self.headers = headers  # per attempt: a signature must carry the time it was made
        self.sleep, self.clock = sleep, clock
        self._last: float | None = None

    def post(self, body: bytes) -> None:
        """Post one body, after the pause since the previous one; the channel's error if it fails."""
        if self._last is not None:
            wait = self.min_interval - (self.clock() - self._last)
            if wait > 0:
                self.sleep(wait)
        try:
            self._post(body)
        finally:
            self._last = self.clock()

    def _post(self, body: bytes) -> None:
        host = host_of(self.url)
        note_endpoint(f"{self.what} at {host}")  # what a command given up on was waiting for
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            headers = {"Content-Type": self.content_type, **(self.headers(body) if self.headers else {})}
            try:
                request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                    return
            except urllib.error.HTTPError as exc:
                detail = self._without_url(exc.read(300).decode("utf-8", "replace").strip())
                if not last and (exc.code == 429 or exc.code >= 500):
                    self.sleep(retry_after(exc.headers.get("Retry-After"), now=self.clock(), default=backoff(attempt)))
                    continue
                raise self.error(f"{self.what} at {host} answered HTTP {exc.code}: {detail or exc.reason} "
                                 f"(attempt {attempt} of {self.max_attempts})") from None
            except (ValueError, http.client.InvalidURL):  # urllib's "unknown url type" and InvalidURL quote it
                raise self.error(f"{self.what} URL for {host} is malformed (its value is a secret and is not "
                                 "shown)") from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = self._without_url(str(getattr(exc, "reason", exc)))
                if not last:
                    self.sleep(backoff(attempt))
                    continue
                raise self.error(f"cannot reach {self.what} at {host}: {reason} "
                                 f"(after {self.max_attempts} attempts)") from None

    def _without_url(self, text: str) -> str:
        """``text`` with the URL and its path (the secret part) cut out, should a server echo them."""
        try:
            path = urllib.parse.urlsplit(self.url).path
        except ValueError:
            path = ""
        for secret in (self.url, path):
            if len(secret) > 1:
                text = text.replace(secret, "…")
        return text
