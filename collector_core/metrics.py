"""Run metrics per plugin and region (findings, errors, duration, API calls) and the sinks they go to.

Sinks, chosen by ``metrics.sink`` in the config:

- ``emf``: CloudWatch Embedded Metric Format, one JSON line per plugin and region on stdout.
  In Lambda, CloudWatch Logs turns these into metrics with no API call at all.
- ``cloudwatch``: PutMetricData, for runs outside Lambda.
- ``wavefront``: the Wavefront line protocol, to a proxy over TCP (``proxy: host:2878``), to a
  proxy over HTTP (``url``), or straight to the service (``url`` plus ``token_env``).

Metrics are a by-product: a sink that fails is logged and reported, never fatal to the run.
Dimensions are plugin and region only; account and run ids travel as EMF properties (searchable
in Logs Insights) rather than dimensions, which would make a custom metric per account.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol

from collector_core.aws import Clients, home_region
from collector_core.events import AccountResult
from collector_core.logs import get_logger

DEFAULT_NAMESPACE = "AWSCollector"
WAVEFRONT_PREFIX = "aws_collector."
PUT_METRIC_DATA_MAX = 1000  # MetricData entries per PutMetricData call
#: (name, CloudWatch unit, Sample attribute)
METRICS = (
    ("Findings", "Count", "findings"),
    ("Errors", "Count", "errors"),
    ("Duration", "Seconds", "seconds"),
    ("ApiCalls", "Count", "api_calls"),
)


@dataclass(frozen=True)
class Sample:
    """One account's numbers for one plugin in one region ("-" for errors outside any scan)."""

    run_id: str
    account_id: str
    plugin: str
    region: str
    findings: int = 0
    errors: int = 0
    seconds: float = 0.0
    api_calls: int = 0


def samples(result: AccountResult) -> list[Sample]:
    """A worker's result as samples, one per (plugin, region) it scanned or failed in."""
    totals: dict[tuple[str, str], dict[str, float]] = {}
    for scan in result.scans:
        t = totals.setdefault((scan.plugin, scan.region), _zero())
        t["findings"] += scan.findings
        t["seconds"] += scan.seconds
        t["api_calls"] += scan.api_calls
    for error in result.errors:
        t = totals.setdefault((error.plugin, error.region), _zero())
        t["errors"] += 1
    return [
        Sample(result.run_id, result.account.id, plugin, region, findings=int(t["findings"]),
               errors=int(t["errors"]), seconds=round(t["seconds"], 3), api_calls=int(t["api_calls"]))
        for (plugin, region), t in sorted(totals.items())
    ]


def _zero() -> dict[str, float]:
    return {"findings": 0, "errors": 0, "seconds": 0.0, "api_calls": 0}


class Sink(Protocol):
    """Somewhere metrics go."""

    name: str

    def send(self, batch: list[Sample], now: dt.datetime) -> None:
        """Deliver a batch or raise."""


# -- CloudWatch ----------------------------------------------------------------------------
class EmfSink:
    """Embedded Metric Format lines on a stream (stdout in Lambda)."""

    name = "emf"

    def __init__(self, namespace: str = DEFAULT_NAMESPACE, stream: IO[str] | None = None) -> None:
        self.namespace = namespace
        self.stream = stream

    def send(self, batch: list[Sample], now: dt.datetime) -> None:
        """Write one EMF document per sample."""
        stream = self.stream or sys.stdout
        for sample in batch:
            stream.write(json.dumps(emf_document(sample, self.namespace, now), separators=(",", ":")) + "\n")
        stream.flush()


def emf_document(sample: Sample, namespace: str, now: dt.datetime) -> dict[str, Any]:
    """The EMF document of a sample: metrics by plugin and region, and by plugin alone."""
    doc: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(now.timestamp() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Plugin", "Region"], ["Plugin"]],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit, _ in METRICS],
            }],
        },
        "Plugin": sample.plugin,
        "Region": sample.region,
        "AccountId": sample.account_id,
        "RunId": sample.run_id,
    }
    for name, _, attr in METRICS:
        doc[name] = getattr(sample, attr)
    return doc


class CloudWatchSink:
    """PutMetricData, in as few calls as the API's per-call limit allows."""

    name = "cloudwatch"

    def __init__(self, client: Any, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.client = client
        self.namespace = namespace

    def send(self, batch: list[Sample], now: dt.datetime) -> None:
        """Put every sample's four metrics with Plugin and Region dimensions."""
        data = [
            {
                "MetricName": name,
                "Dimensions": [{"Name": "Plugin", "Value": s.plugin}, {"Name": "Region", "Value": s.region}],
                "Timestamp": now,
                "Value": float(getattr(s, attr)),
                "Unit": unit,
            }
            for s in batch for name, unit, attr in METRICS
        ]
        for start in range(0, len(data), PUT_METRIC_DATA_MAX):
            chunk = data[start : start + PUT_METRIC_DATA_MAX]
            self.client.put_metric_data(Namespace=self.namespace, MetricData=chunk)


# -- Wavefront -----------------------------------------------------------------------------
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


# -- choosing and emitting -----------------------------------------------------------------
def sink_names(settings: Mapping[str, Any]) -> list[str]:
    """The sinks ``metrics.sink`` names (one or a list); none by default."""
    chosen = settings.get("sink", "none")
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    return [n for n in names if n != "none"]


def make_sink(name: str, settings: Mapping[str, Any], *, clients: Clients | None = None,
              stream: IO[str] | None = None) -> Sink:
    """One sink from the ``metrics`` settings."""
    namespace = str(settings.get("namespace", DEFAULT_NAMESPACE))
    if name == "emf":
        return EmfSink(namespace, stream)
    if name == "cloudwatch":
        return CloudWatchSink((clients or Clients()).client("cloudwatch", home_region()), namespace)
    if name == "wavefront":
        wf = settings.get("wavefront") or {}
        token = os.environ.get(wf["token_env"]) if wf.get("token_env") else None
        if wf.get("token_env") and not token:
            raise ValueError(f"metrics.wavefront.token_env: the environment variable {wf['token_env']} "
                             "is not set")
        return WavefrontSink(proxy=wf.get("proxy"), url=wf.get("url"), token=token,
                             source=str(wf.get("source", "aws-collector")))
    raise ValueError(f"metrics.sink: unknown sink {name!r}")


def emit(
    results: Iterable[AccountResult],
    settings: Mapping[str, Any],
    *,
    clients: Clients | None = None,
    stream: IO[str] | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Send the results' metrics to every configured sink; return what failed, never raise.

    The worker Lambda calls this with its one AccountResult; a local run with all of them.
    """
    log = get_logger()
    now = now or dt.datetime.now(dt.UTC)
    batch = [s for r in results for s in samples(r)]
    failures = []
    for name in sink_names(settings):
        started = time.monotonic()
        try:
            make_sink(name, settings, clients=clients, stream=stream).send(batch, now)
        except Exception as exc:  # metrics must never fail a run
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            log.warning("metrics_failed", sink=name, error=failures[-1])
        else:
            log.debug("metrics_sent", sink=name, samples=len(batch),
                      seconds=round(time.monotonic() - started, 3))
    return failures
