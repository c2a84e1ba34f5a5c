"""AWS access: one shared botocore session, clients cached per credentials, region and service.

A boto3 Session per thread costs hundreds of MB and seconds of start-up; one session whose clients
are created under a lock costs tens of MB (docs/performance.md). Clients are cached by credentials
as well as region, so two accounts never share a client.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3.session
import botocore.exceptions
import botocore.regions
import botocore.session
from botocore.config import Config

from collector_core.aws import botocore_patch

DEFAULT_REGION = "us-east-1"
CallHook = Callable[[str, str, str], None]  # (region, service, operation)
_waiting = threading.local()


def waiting_on() -> str | None:
    """What this thread last sent a request to: the endpoint a stalled call is waiting for."""
    return getattr(_waiting, "endpoint", None)


def note_endpoint(endpoint: str) -> None:
    """Record what this thread is about to wait for (see waiting_on)."""
    _waiting.endpoint = endpoint


def _note_request(**event: Any) -> None:
    # before-send.<service>.<operation>: name the service and where its request goes, nothing more.
    parts = urllib.parse.urlsplit(event["request"].url)
    name = event.get("event_name", "")
    service = name.split(".")[1] if name.count(".") >= 2 else "AWS"
    note_endpoint(f"{service} at {parts.scheme}://{parts.netloc}")


def _unprefixed(endpoint: str, request: Any, **_: Any) -> None:
    """Send an S3 Control request to the emulator's own host, not to an account-id subdomain of it."""
    ours, sent = urllib.parse.urlsplit(endpoint), urllib.parse.urlsplit(request.url)
    if sent.netloc != ours.netloc and sent.netloc.endswith("." + ours.netloc):
        request.url = urllib.parse.urlunsplit(sent._replace(netloc=ours.netloc))


def home_region() -> str:
    """The region the runtime itself lives in (Lambda sets AWS_REGION)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


@functools.lru_cache(maxsize=1)
def known_regions() -> tuple[str, ...]:
    """Every region this botocore knows, across partitions (to validate names, not to scan)."""
    # From botocore's endpoints data alone: session.get_available_regions("ec2") would load EC2's
    # whole service model (15 MB, 0.1 s of CPU) to read its endpoint prefix, which is "ec2".
    resolver = botocore.regions.EndpointResolver(botocore_patch.loader().load_data("endpoints"))
    regions: set[str] = set()
    for partition in resolver.get_available_partitions():
        regions.update(resolver.get_available_endpoints("ec2", partition))
    return tuple(sorted(regions))


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials for one member account. Never logged: repr hides the secrets."""

    access_key_id: str
    secret_access_key: str
    session_token: str

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id[:4]}…)"


class Clients:
    """Creates and caches clients from one shared session; safe to use from many threads."""

    def __init__(self, *, max_pool_connections: int = 10, max_attempts: int = 8,
                 connect_timeout: float = 5, read_timeout: float = 30) -> None:
        self._botocore = botocore.session.get_session()
        # Clients share one class and model per service (botocore_patch); created under self._lock.
        # Every session that shares reads through one loader: each model is parsed once a process.
        botocore_patch.share(self._botocore)
        # Any: services are named at run time, so the stubs' per-service overloads cannot apply.
        self._session: Any = boto3.session.Session(botocore_session=self._botocore)
        # boto3 adds its data directory to the (shared) loader's search paths, once per session.
        paths = self._botocore.get_component("data_loader").search_paths
        paths[:] = list(dict.fromkeys(paths))
        # So that a command given up on can say which endpoint never answered (cli.deadline).
        self._botocore.register("before-send", _note_request)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str | None, str, str], Any] = {}
        settings: dict[str, Any] = {"max_pool_connections": max_pool_connections,
                                    "connect_timeout": connect_timeout, "read_timeout": read_timeout,
                                    "tcp_keepalive": True}
        # Calls into a member account slow down when that account's APIs throttle (adaptive), so a
        # run never hammers an account's rate limits. The runtime's own calls (its table, Lambda,
        # its config) retry the standard way: one client serves every account's writes, and a
        # noisy account must not hold the others' back (adaptive's limiter is per client).
        self._member_config = Config(retries={"mode": "adaptive", "max_attempts": max_attempts}, **settings)
        self._own_config = Config(retries={"mode": "standard", "max_attempts": max_attempts}, **settings)

    def client(
        self,
        service: str,
        region: str,
        credentials: Credentials | None = None,
        *,
        on_call: CallHook | None = None,
    ) -> Any:
        """A cached client; ``on_call`` is told of every API call it makes (not of retries)."""
        key = (credentials.access_key_id if credentials else None, region, service)
        client = self._cache.get(key)
        if client is not None:
            return client
        with self._lock:  # botocore sessions are not safe to create clients from concurrently
            client = self._cache.get(key)
            if client is None:
                client = self._cache[key] = self._make(service, region, credentials, on_call)
        return client

    def private(self, service: str, region: str) -> Any:
        """A client of the runtime's own, not shared: botocore's retry quota is per client, so one
        account's failing writes must not use up the retries every other account's writes need."""
        with self._lock:
            return self._make(service, region, None, None)

    def _make(self, service: str, region: str, credentials: Credentials | None, on_call: CallHook | None) -> Any:
        """A new client (call under the lock)."""
        kwargs: dict[str, Any] = {}
        if credentials:
            kwargs = {"aws_access_key_id": credentials.access_key_id,
                      "aws_secret_access_key": credentials.secret_access_key,
                      "aws_session_token": credentials.session_token}
        config = self._member_config if credentials else self._own_config
        if service == "s3":  # botocore presigns with SigV2 unless told otherwise; S3 wants SigV4
            config = config.merge(Config(signature_version="s3v4"))
        client = self._session.client(service, region_name=region, config=config, **kwargs)
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if service == "s3control" and endpoint:
            # One local emulator serves every account: S3 Control's endpoint rules put the account id
            # before its host (123456789012.127.0.0.1), a host that does not exist.
            client.meta.events.register("before-send.s3-control", functools.partial(_unprefixed, endpoint))
        # Load the paginator model now, under the lock: botocore's loader caches it, but threads
        # asking at once all miss that cache and each rescan botocore's data directories (seconds
        # of CPU in a cold worker: docs/performance.md).
        with contextlib.suppress(botocore.exceptions.DataNotFoundError):  # no paginators
            self._botocore.get_paginator_model(service, client.meta.service_model.api_version)
        if on_call is not None:
            hook = on_call

            def count(model: Any, **_: Any) -> None:
                hook(region, service, model.name)

            client.meta.events.register("before-call", count)
        return client

    def forget(self, credentials: Credentials) -> None:
        """Drop an account's clients once its work is done, so memory stays flat over a run."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == credentials.access_key_id]:
                del self._cache[key]

    def partition(self, region: str) -> str:
        """The partition ("aws", "aws-cn", "aws-us-gov") a region belongs to."""
        try:
            return self._botocore.get_partition_for_region(region)
        except Exception:  # unknown to this botocore: assume the commercial partition
            return "aws"

    def assume_role(
        self,
        account_id: str,
        role_name: str,
        *,
        session_name: str,
        external_id: str | None = None,
        region: str | None = None,
    ) -> Credentials:
        """Assume the member role through the regional STS endpoint, so opt-in regions work."""
        region = region or home_region()
        sts = self.client("sts", region)
        arn = f"arn:{self.partition(region)}:iam::{account_id}:role/{role_name}"
        kwargs: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": session_name[:64]}
        if external_id:
            kwargs["ExternalId"] = external_id
        creds = sts.assume_role(**kwargs)["Credentials"]
        return Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
