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


def test_clients_of_one_service_share_its_class_and_model_but_not_their_region_or_credentials() -> None:
    # botocore builds a class (one method per operation) and a service model for every client; a
    # 17-region worker built 17 identical EC2 copies of each (about 90 ms of CPU per client).
    clients = Clients()
    a, b = Credentials("ASIAAAAA", "secret-a", "token-a"), Credentials("ASIABBBB", "secret-b", "token-b")
    made = [clients.client("ec2", region, credentials) for region in REGIONS[:3] for credentials in (a, b)]
    assert len({type(c) for c in made}) == 1
    assert len({id(c.meta.service_model) for c in made}) == 1
    assert [c.meta.region_name for c in made] == [r for r in REGIONS[:3] for _ in (a, b)]
    assert len({c.meta.endpoint_url for c in made}) == 3
    assert {c._request_signer._credentials.access_key for c in made} == {"ASIAAAAA", "ASIABBBB"}
    # Other sessions in the process (a plugin's own boto3 use) keep botocore's behaviour.
    import boto3

    plain = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y")
    one, two = (plain.client("ec2", region_name=r) for r in REGIONS[:2])
    assert type(one) is not type(two) and one.meta.service_model is not two.meta.service_model
