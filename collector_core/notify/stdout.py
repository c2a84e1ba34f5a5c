"""The ``notify.stdout`` channel: the report as plain text on standard output (notify/text.py), the
channel a config without any other gets."""
from __future__ import annotations

from collections.abc import Callable

from collector_core.channel import Channel, ChannelContext
from collector_core.documents.schema import BOOLEAN
from collector_core.hookspecs import hookimpl
from collector_core.notify import text
from collector_core.notify.report import Report


def send(report: Report, settings: bool, ctx: ChannelContext) -> None:
    """Print the whole report, line by line, to ``ctx.out``."""
    for line in text.lines(report):
        ctx.out.write(line + "\n")
    ctx.out.flush()


CHANNEL = Channel(name="stdout", summary="the report as plain text on standard output", send=send, schema=BOOLEAN,
                  settings=bool, fallback=True)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """Standard output, registered through the same hook as a community channel."""
    register(CHANNEL)
