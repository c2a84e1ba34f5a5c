"""Shared clients: one botocore session, safe and cheap to use from a worker's many threads."""
from __future__ import annotations

import threading
from typing import Any

import botocore.loaders
import pytest

from collector_core.aws import Clients, Credentials

REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
           "ap-south-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "sa-east-1"]


def test_a_client_comes_with_its_paginators_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore's loader caches models, but threads that miss its cache together each load them,
    # rescanning botocore's data directories: in a cold 17-region worker, 2 s of CPU. So the model
    # is loaded when the client is made, under the lock, and paginating never reaches the loader.
    clients = Clients()
    credentials = Credentials("ASIAEXAMPLE", "secret", "token")
    ec2 = {region: clients.client("ec2", region, credentials) for region in REGIONS}
    loads: list[str] = []
    list_services = botocore.loaders.Loader.list_available_services

    def loading(self: botocore.loaders.Loader, *args: Any, **kwargs: Any) -> Any:
        loads.append(threading.current_thread().name)
        return list_services(self, *args, **kwargs)

    monkeypatch.setattr(botocore.loaders.Loader, "list_available_services", loading)
    ready = threading.Barrier(len(REGIONS))

    def scan(region: str) -> None:
        ready.wait()  # every thread asks for its paginator at the same moment, as a worker's do
        ec2[region].get_paginator("describe_volumes")

    threads = [threading.Thread(target=scan, args=(region,), name=region) for region in REGIONS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert loads == []
