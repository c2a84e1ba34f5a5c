"""Requests the table's data plane makes more than one of at a time: batches of unconditional puts,
and independent calls made at once."""
from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from typing import Any

#: Items per BatchWriteItem (DynamoDB's limit), and pauses before resending what it left unprocessed.
BATCH_ITEMS, BATCH_BACKOFF = 25, (0.05, 0.2, 0.5, 1.0, 2.0)


class UnprocessedWrites(Exception):
    """DynamoDB kept leaving part of a batch unprocessed, through every retry."""


def put_batch(client: Any, table: str, items: Sequence[dict[str, Any]], *, sleep: Callable[[float], None]) -> None:
    """Put items (as DynamoDB attributes) 25 a request; what DynamoDB leaves unprocessed (throttled) is
    sent again after a growing pause, and UnprocessedWrites if some is still left after the last."""
    for start in range(0, len(items), BATCH_ITEMS):
        writes = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_ITEMS]]
        for pause in (*BATCH_BACKOFF, None):
            writes = client.batch_write_item(RequestItems={table: writes}).get("UnprocessedItems", {}).get(table, [])
            if not writes:
                break
            if pause is None:
                raise UnprocessedWrites(f"table {table!r} left {len(writes)} writes unprocessed after "
                                        f"{len(BATCH_BACKOFF)} retries")
            sleep(pause * random.uniform(0.5, 1.0))


def at_once(*calls: Callable[[], None]) -> None:
    """Make independent calls at the same time (each is a round trip); the first failure is raised
    once all have ended, so none is left half-done behind the caller's back."""
    failures: list[BaseException] = []

    def call(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the caller
            failures.append(exc)

    threads = [threading.Thread(target=call, args=(fn,), daemon=True, name="store-at-once") for fn in calls[1:]]
    for thread in threads:
        thread.start()
    call(calls[0])
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
