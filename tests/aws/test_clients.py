"""Shared clients: one botocore session, safe and cheap to use from a worker's many threads."""
from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders
import botocore.session
import pytest

from collector_core import logs
from collector_core.aws import botocore_patch
from collector_core.aws.clients import Clients, Credentials

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


def test_the_botocore_this_runs_against_has_the_private_builders_the_speed_up_expects() -> None:
    # CI runs this on the pinned botocore (tox -e py) and on the newest in setup.cfg's range
    # (tox -e botocore-newest): a release that renames or reshapes them must fail here first.
    import botocore

    assert botocore_patch.mismatches() == [], botocore.__version__
    assert botocore_patch.install() is True


def test_builders_of_another_shape_leave_botocore_as_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    class Renamed:  # what a future botocore might look like
        def _create_client_class(self, service_name: str, service_model: Any, extra: Any) -> Any: ...

    assert botocore_patch.mismatches(Renamed) == [
        "ClientCreator._create_client_class('self', 'service_name', 'service_model', 'extra') is not "
        "_create_client_class('self', 'service_name', 'service_model')",
        "ClientCreator._load_service_model is missing",
    ]
    monkeypatch.setattr(botocore_patch, "_installed", None)
    monkeypatch.setattr(botocore_patch, "mismatches", lambda creator=None: ["reshaped"])
    log = io.StringIO()
    logs.configure(json_output=True, level="debug", stream=log)
    clients = Clients()  # asks for the speed-up, and is told no
    assert botocore_patch.install() is False
    made = [clients.client("ec2", region) for region in REGIONS[:2]]
    assert made[0].meta.region_name == "us-east-1" and made[1].meta.region_name == "us-east-2"
    assert '"event": "botocore_patch_skipped"' in log.getvalue() and "reshaped" in log.getvalue()


def test_the_lambda_package_pins_the_boto3_the_suite_runs_on() -> None:
    deploy = Path(__file__).resolve().parents[2] / "deploy"

    def pins(name: str) -> set[str]:
        lines = (deploy / name).read_text().splitlines()
        return {line for line in lines if line.startswith(("boto3==", "botocore=="))}

    assert pins("requirements.txt") == pins("constraints.txt") and len(pins("constraints.txt")) == 2


def test_s3_control_reaches_a_local_emulator_despite_its_account_host_prefix(server_env: str) -> None:
    # S3 Control's endpoint rules send to 123456789012.<endpoint host>, which no emulator serves.
    control = Clients().client("s3control", "us-east-1")
    block = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": False}
    control.put_public_access_block(AccountId="123456789012", PublicAccessBlockConfiguration=block)

    got = control.get_public_access_block(AccountId="123456789012")["PublicAccessBlockConfiguration"]
    assert got == block


def test_every_session_that_shares_parses_each_model_once_and_lean() -> None:
    # A worker validating its checks, listing regions and making clients used to parse EC2's model
    # three times over (15 MB each, as OrderedDicts with every documentation string).
    from collector_core.checks import operations

    assert botocore_patch.loader_mismatches() == [], botocore.__version__
    clients = Clients()
    ec2 = clients.client("ec2", "us-east-1")
    shared = botocore_patch.loader()
    assert clients._botocore.get_component("data_loader") is shared
    assert operations._session().get_component("data_loader") is shared
    assert isinstance(shared.file_loader, botocore_patch.LeanFileLoader)
    # One parsed model: the validator's and the client's are built on the same dicts.
    validated = operations.service_model("ec2")
    assert validated._shape_resolver._shape_map is ec2.meta.service_model._shape_resolver._shape_map
    raw = shared.load_service_model("ec2", "service-2")
    assert type(raw) is dict and type(raw["shapes"]["Volume"]) is dict
    assert "documentation" not in raw["operations"]["DescribeVolumes"]
    assert not any("documentation" in m for m in raw["shapes"]["Volume"]["members"].values())
    assert len(shared.search_paths) == len(set(shared.search_paths))  # boto3 adds its data path once
    # Still a working client: the model parses requests and responses as before.
    assert ec2.meta.service_model.operation_model("DescribeVolumes").output_shape.members["Volumes"]
    assert ec2.can_paginate("describe_volumes")


def test_dropping_documentation_keeps_what_only_looks_like_it() -> None:
    model = {
        "documentation": "the service", "metadata": {"serviceId": "X"},
        "clientContextParams": {"Accelerate": {"type": "boolean", "documentation": "botocore reads this"}},
        "operations": {"Get": {"name": "Get", "documentation": "d", "documentationUrl": "u",
                               "input": {"shape": "In", "documentation": "d"},
                               "errors": [{"shape": "E", "documentation": "d"}]}},
        "shapes": {
            "In": {"type": "structure", "documentation": "d",
                   "members": {"documentation": {"shape": "S", "documentation": "a member called documentation"}}},
            "L": {"type": "list", "member": {"shape": "S", "documentation": "d"}},
            "S": {"type": "string"}, "E": {"type": "structure", "members": {}},
        },
    }
    lean = botocore_patch.drop_documentation(model)
    assert "documentation" not in lean
    assert lean["clientContextParams"]["Accelerate"]["documentation"] == "botocore reads this"
    assert lean["operations"]["Get"] == {"name": "Get", "input": {"shape": "In"}, "errors": [{"shape": "E"}]}
    assert lean["shapes"]["In"] == {"type": "structure", "members": {"documentation": {"shape": "S"}}}
    assert lean["shapes"]["L"] == {"type": "list", "member": {"shape": "S"}}


def test_a_loader_of_another_shape_reads_files_as_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    class Zstd:  # what a future botocore might look like
        _JSON_OPEN_METHODS = {".json": open, ".json.zst": open}
        JSONFileLoader = botocore.loaders.JSONFileLoader

        @staticmethod
        def create_loader() -> Any:
            return botocore.loaders.create_loader()

    assert botocore_patch.loader_mismatches(Zstd) == [
        "botocore reads data files as ['.json', '.json.zst'], not ['.json', '.json.gz']"]
    monkeypatch.setattr(botocore_patch, "_loaders", {})
    monkeypatch.setattr(botocore_patch, "loader_mismatches", lambda loaders=None: ["reshaped"])
    log = io.StringIO()
    logs.configure(json_output=True, level="debug", stream=log)
    clients = Clients()
    shared = clients._botocore.get_component("data_loader")
    assert shared is botocore_patch.loader() and type(shared.file_loader) is botocore.loaders.JSONFileLoader
    assert clients.client("ec2", "us-east-2").meta.region_name == "us-east-2"
    assert '"event": "botocore_lean_loader_skipped"' in log.getvalue() and "reshaped" in log.getvalue()


def test_known_regions_are_botocore_s_regions_for_ec2() -> None:
    from collector_core.aws.clients import known_regions

    session = botocore.session.get_session()
    expected = {r for p in session.get_available_partitions()
                for r in session.get_available_regions("ec2", partition_name=p)}
    assert known_regions() == tuple(sorted(expected)) and "eu-west-1" in expected
