"""Each metrics setting, when wrong, gets an error naming the file, the key and what was expected."""
from __future__ import annotations

from typing import Any

import pytest

from collector_core.config.errors import ConfigError
from collector_core.config.load import parse_config
from collector_core.metrics.sinks import MetricsSettings
from collector_core.plugins import load_plugins

SINKS = "one of none, emf, cloudwatch, wavefront"


@pytest.mark.parametrize(("metrics", "message"), [
    ([], "metrics: expected a mapping with sink, namespace and wavefront, got a list []"),
    ({"sinks": "emf"}, "metrics.sinks: unknown key 'sinks'; expected one of: namespace, sink, wavefront"),
    ({"sink": "graphite"}, f"metrics.sink: expected {SINKS}, or a list of them, got the string 'graphite'"),
    ({"sink": ["emf", "statsd"]}, f"metrics.sink[1]: expected {SINKS}, got the string 'statsd'"),
    ({"sink": []}, f"metrics.sink: expected {SINKS}, or a list of them, got a list []"),
    ({"namespace": ":aws"}, "metrics.namespace: expected a CloudWatch namespace"),
    ({"sink": "wavefront"}, "metrics.wavefront: required when metrics.sink includes wavefront"),
    ({"sink": "wavefront", "wavefront": {}},
     "metrics.wavefront: expected a mapping with proxy (host:port) or url (with token_env for direct "
     "ingestion)"),
    ({"wavefront": {"proxy": "localhost"}},
     "metrics.wavefront.proxy: expected host:port of a Wavefront proxy, got the string 'localhost'"),
    ({"wavefront": {"url": "example.wavefront.com"}},
     "metrics.wavefront.url: expected an http(s) URL, got the string 'example.wavefront.com'"),
    ({"wavefront": {"url": "https://example.wavefront.com", "token_env": "WF TOKEN"}},
     "metrics.wavefront.token_env: expected an environment variable name, got the string 'WF TOKEN'"),
    ({"wavefront": {"proxy": "wf:2878", "url": "https://example.wavefront.com"}},
     "metrics.wavefront: expected a mapping with proxy (host:port) or url"),
    ({"wavefront": {"proxy": "wf:2878", "token": "abc"}},
     "metrics.wavefront.token: unknown key 'token'; expected one of: proxy, source, token_env, url"),
    ({"wavefront": {"proxy": "wf:2878", "source": ""}},
     "metrics.wavefront.source: expected a source name, got the string ''"),
])
def test_a_bad_metrics_setting_is_named(metrics: Any, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"accounts": [{"id": "111111111111"}], "metrics": metrics}, "conf.yaml", load_plugins())
    assert f"conf.yaml: {message}" in str(err.value)


@pytest.mark.parametrize("metrics", [
    {"sink": "none"},
    {"sink": "emf", "namespace": "AWSCollector"},
    {"sink": ["cloudwatch", "wavefront"], "wavefront": {"proxy": "wavefront-proxy.internal:2878"}},
    {"sink": "wavefront", "wavefront": {"url": "https://example.wavefront.com", "token_env": "WF_TOKEN",
                                        "source": "collector"}},
])
def test_good_metrics_settings_are_accepted(metrics: dict[str, Any]) -> None:
    doc = {"accounts": [{"id": "111111111111"}], "metrics": metrics}
    config = parse_config(doc, "conf.yaml", load_plugins())
    assert config.metrics == MetricsSettings.from_doc(metrics)
