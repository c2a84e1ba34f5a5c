"""The Wavefront line protocol, to a proxy over TCP (``proxy: host:2878``), to a proxy over HTTP
(``url``), or straight to the service (``url`` plus ``token_env``)."""
from __future__ import annotations

import datetime as dt
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.documents.schema import ENV_NAME, HTTP_URL, NON_EMPTY, Schema, mapping
from collector_core.metrics.samples import METRICS, Sample

WAVEFRONT_PREFIX = "aws_collector."
#: The ``metrics.wavefront`` section.
SCHEMA: Schema = mapping(
    {
        "proxy": {"type": "string", "pattern": r"^[A-Za-z0-9.\-]+:[0-9]{1,5}$",
                  "expected": "host:port of a Wavefront proxy"},
        "url": HTTP_URL,
        "token_env": ENV_NAME,
        "source": {**NON_EMPTY, "expected": "a source name"},
    },
    "a mapping with proxy (host:port) or url (with token_env for direct ingestion)",
    oneOf=[{"required": ["proxy"]}, {"required": ["url"]}],
)


@dataclass(frozen=True)
class WavefrontSettings:
    """A proxy (host:port, TCP) or a URL (a proxy's HTTP port, or the service with a token)."""

    proxy: str | None = None
    url: str | None = None
    token_env: str | None = None  # the variable holding the API token, never the token itself
    source: str = "aws-collector"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> WavefrontSettings:
        """The validated section."""
        return cls(**doc)

    def sink(self) -> WavefrontSink:
        """The sink, with the token read from the environment now."""
        token = os.environ.get(self.token_env) if self.token_env else None
        if self.token_env and not token:
            raise ValueError(f"metrics.wavefront.token_env: the environment variable {self.token_env} is not set")
        return WavefrontSink(proxy=self.proxy, url=self.url, token=token, source=self.source)


class WavefrontSink:
    """Wavefront line protocol to a proxy (TCP or HTTP) or to the service with an API token."""

    name = "wavefront"

    def __init__(self, *, proxy: str | None = None, url: str | None = None, token: str | None = None,
                 source: str = "aws-collector", timeout: float = 10.0) -> None:
        if not (proxy or url):
            raise ValueError("wavefront needs a proxy (host:port) or a url")
        self.proxy, self.url, self.token = proxy, url, token
        self.source = source
        self.timeout = timeout

    def send(self, batch: list[Sample], now: dt.datetime) -> None:
        """Send every sample's metrics in one connection or one request."""
        payload = "".join(wavefront_lines(s, int(now.timestamp()), self.source) for s in batch).encode()
        if not payload:
            return
        if self.proxy:
            host, _, port = self.proxy.rpartition(":")
            with socket.create_connection((host, int(port)), timeout=self.timeout) as conn:
                conn.sendall(payload)
            return
        assert self.url is not None
        headers: dict[str, str] = {"Content-Type": "text/plain"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url.rstrip("/") + "/report?f=wavefront", data=payload,
                                         headers=headers, method="POST")
        where = urllib.parse.urlsplit(self.url).hostname or "?"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:  # the token is in the headers, never in the message
            raise RuntimeError(f"Wavefront at {where} answered HTTP {exc.code}: "
                               f"{exc.read(200).decode('utf-8', 'replace').strip()}") from None


def wavefront_lines(sample: Sample, timestamp: int, source: str) -> str:
    """``<metric> <value> <timestamp> source=<source> <tags>`` for each of a sample's metrics."""
    tags = " ".join(f'{k}="{_tag(v)}"' for k, v in
                    (("plugin", sample.plugin), ("region", sample.region), ("account", sample.account_id)))
    return "".join(
        f"{WAVEFRONT_PREFIX}{_metric_name(name)} {getattr(sample, attr)} {timestamp} "
        f"source={_source(source)} {tags}\n"
        for name, _, attr in METRICS
    )


def _metric_name(name: str) -> str:
    # ApiCalls -> api_calls: Wavefront names are conventionally lower-case, dot/underscore separated.
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _source(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", value) or "aws-collector"
