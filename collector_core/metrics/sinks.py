"""The ``metrics:`` section, and sending a run's metrics to every sink it names.

Sinks: ``emf`` (CloudWatch Embedded Metric Format on stdout: in Lambda, metrics with no API call),
``cloudwatch`` (PutMetricData, for runs outside Lambda), ``wavefront`` (its line protocol).
Metrics are a by-product: a sink that fails is logged and reported, never fatal to the run.
Dimensions are plugin and region only; account and run ids travel as EMF properties (searchable
in Logs Insights) rather than dimensions, which would make a custom metric per account.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from collector_core.aws.clients import Clients, home_region
from collector_core.documents.schema import Schema, mapping
from collector_core.errors import describe
from collector_core.logs import get_logger
from collector_core.metrics import cloudwatch, emf, wavefront
from collector_core.metrics.samples import DEFAULT_NAMESPACE, Sink, samples
from collector_core.results import AccountResult

SINKS = ("none", "emf", "cloudwatch", "wavefront")


def schema() -> Schema:
    """The ``metrics`` section: each sink with settings brings its own part."""
    sink = {"enum": list(SINKS), "expected": f"one of {', '.join(SINKS)}"}
    return mapping(
        {
            "sink": {"anyOf": [sink, {"type": "array", "items": sink, "minItems": 1, "uniqueItems": True}],
                     "expected": f"one of {', '.join(SINKS)}, or a list of them",
                     "description": "emf: CloudWatch Embedded Metric Format on stdout (Lambda, no API call); "
                                    "cloudwatch: PutMetricData; wavefront (default none)"},
            "namespace": {"type": "string", "pattern": r"^[^:][^\s]{0,254}$",
                          "expected": "a CloudWatch namespace (1-255 characters, no spaces, not starting with ':')",
                          "description": f"default {DEFAULT_NAMESPACE}"},
            "wavefront": wavefront.SCHEMA,
        },
        "a mapping with sink, namespace and wavefront",
        description="each worker's metrics (findings, errors, duration, API calls by plugin and region)",
    )


def problems(doc: Mapping[str, Any]) -> list[str]:
    """What the schema cannot say: a sink named without its settings."""
    if "wavefront" in MetricsSettings.sink_names(doc.get("sink", "none")) and "wavefront" not in doc:
        return ["metrics.wavefront: required when metrics.sink includes wavefront; "
                "expected a mapping with proxy (host:port) or url"]
    return []


@dataclass(frozen=True)
class MetricsSettings:
    """Which sinks a run's metrics go to, and their settings."""

    sinks: tuple[str, ...] = ()
    namespace: str = DEFAULT_NAMESPACE
    wavefront: wavefront.WavefrontSettings | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> MetricsSettings:
        """The validated section ({} when the config has none)."""
        return cls(
            sinks=tuple(cls.sink_names(doc.get("sink", "none"))),
            namespace=doc.get("namespace", DEFAULT_NAMESPACE),
            wavefront=wavefront.WavefrontSettings.from_doc(doc["wavefront"]) if doc.get("wavefront") else None,
        )

    def to_doc(self) -> dict[str, Any]:
        """The section as the config writes it (what travels in a worker's event)."""
        doc: dict[str, Any] = {"sink": list(self.sinks) or "none", "namespace": self.namespace}
        if self.wavefront:
            doc["wavefront"] = {k: v for k, v in dataclasses.asdict(self.wavefront).items() if v is not None}
        return doc

    @staticmethod
    def sink_names(chosen: Any) -> list[str]:
        """The sinks ``metrics.sink`` names (one or a list), without "none"."""
        names = [chosen] if isinstance(chosen, str) else list(chosen or [])
        return [n for n in names if n != "none"]


def make_sink(name: str, settings: MetricsSettings, *, clients: Clients | None = None,
              stream: IO[str] | None = None) -> Sink:
    """One sink from the settings."""
    if name == "emf":
        return emf.EmfSink(settings.namespace, stream)
    if name == "cloudwatch":
        return cloudwatch.CloudWatchSink((clients or Clients()).client("cloudwatch", home_region()),
                                         settings.namespace)
    if name == "wavefront" and settings.wavefront:
        return settings.wavefront.sink()
    raise ValueError(f"metrics.sink: {name!r} has no settings or is unknown")


def emit(
    results: Iterable[AccountResult],
    settings: MetricsSettings,
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
    for name in settings.sinks:
        started = time.monotonic()
        try:
            make_sink(name, settings, clients=clients, stream=stream).send(batch, now)
        except Exception as exc:  # metrics must never fail a run
            failures.append(f"{name}: {describe(exc)}")
            log.warning("metrics_failed", sink=name, error=failures[-1])
        else:
            log.debug("metrics_sent", sink=name, samples=len(batch),
                      seconds=round(time.monotonic() - started, 3))
    return failures
