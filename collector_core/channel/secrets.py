"""Secrets a channel reads when it sends: a webhook URL or a signing key, from an environment
variable, an SSM parameter (a SecureString), a Secrets Manager secret or, where a channel allows
it, the config itself. One owner for the schema of those keys and for reading them, so every
channel names its secret the same way and no error ever shows a secret's value.

For a secret called ``webhook_url`` the config takes exactly one of ``webhook_url`` (the value,
when allowed), ``webhook_url_env`` (a variable's name), ``webhook_url_ssm`` (a parameter's name)
and ``webhook_url_secret`` (a secret's name or ARN; a JSON secret holds the value under the
secret's own name, e.g. ``{"webhook_url": "..."}``, or under one of the channel's aliases).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collector_core.channel import ChannelContext, ChannelError
from collector_core.documents.schema import ENV_NAME, NON_EMPTY, Schema

#: Suffixes of a secret's keys: the value itself, an environment variable, SSM, Secrets Manager.
SUFFIXES = ("", "_env", "_ssm", "_secret")
#: SSM reserves names beginning with aws or ssm (in any case): none can hold a secret of ours.
SSM_NAME: Schema = {"type": "string", "pattern": r"^(?!/?(?i:aws|ssm))[A-Za-z0-9_.\-/]{1,2048}$",
                    "expected": "an SSM parameter name (a SecureString) not beginning with aws or ssm, which SSM "
                                "reserves"}
SECRET_NAME: Schema = {**NON_EMPTY, "expected": "a Secrets Manager secret name or ARN"}


def secret_keys(name: str, literal: Schema | None) -> tuple[dict[str, Schema], list[Schema]]:
    """(properties, oneOf) for the secret ``name``: its four keys, exactly one of them set.
    ``literal`` is the schema of the value written in the config, or None when the config may not
    hold it (the key is then refused, with a message saying where the secret may come from)."""
    refused: Schema = {"not": {}, "secret": True,
                       "expected": f"{name}_env, {name}_ssm or {name}_secret: the config file never holds the "
                                   f"secret itself"}
    properties = {name: {**(literal or refused), "secret": True}, f"{name}_env": ENV_NAME, f"{name}_ssm": SSM_NAME,
                  f"{name}_secret": SECRET_NAME}
    keys = [f"{name}{suffix}" for suffix in SUFFIXES if literal is not None or suffix]
    return properties, [{"required": [key]} for key in keys]


@dataclass(frozen=True, repr=False)
class SecretSource:
    """Where one secret comes from: exactly one of the config's value, a variable, SSM or Secrets Manager."""

    name: str  # the secret's key in the config: "webhook_url", "signing_secret"
    value: str | None = None
    env: str | None = None
    ssm: str | None = None
    secret: str | None = None

    @classmethod
    def from_section(cls, section: Mapping[str, Any], name: str) -> SecretSource:
        """The source a validated section names for the secret ``name``."""
        return cls(name, *(section.get(f"{name}{suffix}") for suffix in SUFFIXES))

    @property
    def key(self) -> str:
        """The config key that names the source: ``webhook_url_ssm``."""
        for suffix, value in zip(SUFFIXES, (self.value, self.env, self.ssm, self.secret), strict=True):
            if value:
                return f"{self.name}{suffix}"
        return self.name

    def __repr__(self) -> str:  # the value is a secret
        return f"SecretSource({self.key})"

    def read(self, ctx: ChannelContext, *, aliases: Sequence[str] = (),
             check: Callable[[str], bool] = bool, what: str = "a value") -> str:
        """The secret, or ChannelError naming where it was looked for (``ctx.where``), never its value.
        ``check`` says whether a value is usable (``what`` is how a message describes one)."""
        where = f"{ctx.where}.{self.key}"
        if self.value:
            found, place = self.value, where
        elif self.env:
            found, place = os.environ.get(self.env, ""), f"{where}: the environment variable {self.env}"
            if not found:
                raise ChannelError(f"{where}: the environment variable {self.env} is not set")
        elif self.ssm:
            ssm = ctx.client("ssm")
            found = str(ssm.get_parameter(Name=self.ssm, WithDecryption=True)["Parameter"]["Value"])
            place = f"{where}: the SSM parameter {self.ssm}"
        elif self.secret:
            place = f"{where}: the secret {self.secret}"
            found = self._from_json(str(ctx.client("secretsmanager").get_secret_value(
                SecretId=self.secret)["SecretString"]).strip(), place, aliases)
        else:
            raise ChannelError(f"{ctx.where}: no {self.name} configured")
        found = found.strip()
        if not found or not check(found):
            raise ChannelError(f"{place} does not hold {what} (its value is a secret and is not shown)")
        return found

    def _from_json(self, text: str, place: str, aliases: Sequence[str]) -> str:
        """A JSON secret's value under the secret's name or an alias; a plain secret as it is."""
        if not text.startswith("{"):
            return text
        try:
            data = json.loads(text)
        except ValueError:
            raise ChannelError(f"{place} begins with '{{' but is not JSON") from None
        value = next((data.get(k) for k in (self.name, *aliases) if isinstance(data, dict) and data.get(k)), None)
        if not value:
            raise ChannelError(f"{place} holds no {self.name}")
        return str(value)
