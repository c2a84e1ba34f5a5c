"""The catalog's tests: moto's server on 127.0.0.1, clean for each test, and AWS's pagination
played over its one-page answers where moto does not page (catalog_aws.py)."""
from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator

import pytest

#: The catalog and the built-ins, whatever else is installed beside them.
PLUGINS = "catalog,unattached_ebs,iam_key_age,open_security_groups,stdout"


@pytest.fixture(autouse=True)
def only_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_COLLECTOR_PLUGINS", PLUGINS)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server on a free loopback port for the whole session."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_server(moto_url: str, aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean moto server that every client of this test talks to."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    return moto_url
