"""Helpers for the catalog's tests: pages AWS would serve, and another account."""
from __future__ import annotations

from typing import Any


class Pages:
    """Serves one operation's whole answer in pages of ``size``, as AWS does and moto does not.

    The request's token is taken off before moto sees it (moto would not know it); the answer moto
    gives is cut to the page that token asks for, with the token of the next page.
    """

    def __init__(self, client: Any, operation: str, key: str, size: int,
                 token_in: str = "NextToken", token_out: str = "NextToken") -> None:
        self.key, self.size, self.token_in, self.token_out = key, size, token_in, token_out
        self.requests = 0
        self._page = 0
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"provide-client-params.{service}.{operation}", self._request)
        client.meta.events.register(f"after-call.{service}.{operation}", self._answer)

    def _request(self, params: dict[str, Any], **_: Any) -> None:
        self.requests += 1
        token = params.pop(self.token_in, None)
        self._page = int(token.removeprefix("page-")) if token else 0

    def _answer(self, parsed: dict[str, Any], **_: Any) -> None:
        items = parsed.get(self.key, [])
        start = self._page * self.size
        parsed[self.key] = items[start:start + self.size]
        if start + self.size < len(items):
            parsed[self.token_out] = f"page-{self._page + 1}"
        else:
            parsed.pop(self.token_out, None)


def other_account(service: str, account_id: str = "210987654321", region: str = "us-east-1") -> Any:
    """A client in another account of the same moto server (moto keeps accounts apart by credentials)."""
    import boto3

    creds = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/test", RoleSessionName="other")["Credentials"]
    make: Any = boto3.client  # any service by name
    return make(service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
