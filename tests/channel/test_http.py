"""Posting to a webhook (collector_core/channel/http.py), as Slack, Teams and the signed webhook do,
against a real listener on 127.0.0.1: Retry-After honoured in both its forms, 5xx retried, waits
bounded, posts paced; every wait seen through a fake clock, none waited for."""
from __future__ import annotations

import email.utils

import pytest
from loopback import Listener

from collector_core.channel import ChannelError
from collector_core.channel.http import MAX_RETRY_AFTER, Poster, retry_after
from collector_core.testing import FakeClock

SECRET_PATH = "/hooks/SECRETPART"


def poster(listener: Listener, time: FakeClock, **options: float) -> Poster:
    return Poster(listener.url + SECRET_PATH, what="the test webhook", sleep=time.sleep, clock=time.clock,
                  **options)  # type: ignore[arg-type]


def test_a_429_waits_the_seconds_its_retry_after_asks_for(http_listener: Listener) -> None:
    http_listener.responses.append((429, {"Retry-After": "7"}, "slow down"))
    time = FakeClock()

    poster(http_listener, time).post(b'{"n": 1}')

    assert time.sleeps == [7.0]  # not the 1 s backoff of a 429 without one
    first, second = http_listener.received
    assert first.body == second.body == b'{"n": 1}'


def test_a_retry_after_given_as_an_http_date_waits_until_that_date(http_listener: Listener) -> None:
    time = FakeClock()
    http_listener.responses.append((429, {"Retry-After": email.utils.formatdate(time.now + 30, usegmt=True)}, ""))

    poster(http_listener, time).post(b"{}")

    assert time.sleeps == [30.0]
    assert len(http_listener.received) == 2


def test_a_5xx_honours_its_retry_after_and_else_backs_off(http_listener: Listener) -> None:
    http_listener.responses.extend([(503, {"Retry-After": "3"}, "maintenance"), (500, {}, "oops"), (502, {}, "")])
    time = FakeClock()

    poster(http_listener, time).post(b"{}")

    assert time.sleeps == [3.0, 2.0, 4.0]  # Retry-After, then backoff(2) and backoff(3)
    assert len(http_listener.received) == 4


def test_waits_are_bounded_and_so_are_attempts(http_listener: Listener) -> None:
    http_listener.responses.extend([(429, {"Retry-After": "86400"}, "")] * 3)
    time = FakeClock()

    with pytest.raises(ChannelError) as raised:
        poster(http_listener, time, max_attempts=3).post(b"{}")

    assert time.sleeps == [MAX_RETRY_AFTER, MAX_RETRY_AFTER]
    assert str(raised.value) == "the test webhook at 127.0.0.1 answered HTTP 429: Too Many Requests (attempt 3 of 3)"


def test_a_client_error_is_not_retried_and_its_message_never_holds_the_url(http_listener: Listener) -> None:
    http_listener.responses.append((403, {}, f"bad signature for {SECRET_PATH}"))
    time = FakeClock()

    with pytest.raises(ChannelError) as raised:
        poster(http_listener, time).post(b"{}")

    assert time.sleeps == [] and len(http_listener.received) == 1
    assert "answered HTTP 403: bad signature for …" in str(raised.value)
    assert "SECRETPART" not in str(raised.value)


def test_posts_are_paced_by_the_clock(http_listener: Listener) -> None:
    time = FakeClock()
    paced = poster(http_listener, time, min_interval=1.0)

    paced.post(b"1")
    time.now += 0.25  # the next post is asked for a quarter of a second later
    paced.post(b"2")
    paced.post(b"3")

    assert time.sleeps == [0.75, 1.0]
    assert [r.body for r in http_listener.received] == [b"1", b"2", b"3"]


def test_headers_are_made_afresh_for_every_attempt(http_listener: Listener) -> None:
    http_listener.responses.append((500, {}, ""))
    time = FakeClock()
    made = []

    def headers(body: bytes) -> dict[str, str]:
        made.append(time.now)
        return {"X-Made-At": str(int(time.now))}

    Poster(http_listener.url, what="w", headers=headers, sleep=time.sleep, clock=time.clock).post(b"{}")

    assert [r.headers["X-Made-At"] for r in http_listener.received] == [str(int(t)) for t in made]
    assert made[1] - made[0] == 1.0


@pytest.mark.parametrize(("header", "expected"), [
    (None, 5.0), ("", 5.0), ("2", 2.0), ("0.5", 0.5), ("-3", 0.0), ("600", MAX_RETRY_AFTER),
    ("soon", 5.0), ("Tue, 03 Jun 2025 00:00:00 GMT", MAX_RETRY_AFTER),
    ("Mon, 02 Jun 2025 11:59:00 GMT", 0.0),  # a date already past: at once
])
def test_retry_after_reads_seconds_and_dates(header: str | None, expected: float) -> None:
    assert retry_after(header, now=FakeClock().now, default=5.0) == expected
