"""Where a config's text comes from: a local file, ``s3://bucket/key`` or ``ssm:/parameter/name``."""
from __future__ import annotations

from collector_core.aws.clients import Clients, home_region
from collector_core.config.errors import ConfigError
from collector_core.errors import describe

MAX_CONFIG_BYTES = 1024 * 1024
#: What an SSM parameter holds: 4 KB in the standard tier (free), 8 KB in the advanced tier ($0.05 a
#: parameter a month). A config listing a few dozen accounts outgrows the first, a couple of hundred
#: the second: S3 holds up to MAX_CONFIG_BYTES.
SSM_STANDARD_BYTES, SSM_ADVANCED_BYTES = 4096, 8192


def ssm_tier(size: int) -> str | None:
    """The SSM tier a config of ``size`` bytes needs: "standard", "advanced", or None when it fits neither."""
    return "standard" if size <= SSM_STANDARD_BYTES else "advanced" if size <= SSM_ADVANCED_BYTES else None


def too_big_for_ssm(source: str, size: int) -> str:
    """Why a config of ``size`` bytes cannot be kept in SSM, and what to do instead."""
    return (f"{source} is {size:,} bytes: over SSM's limit for a parameter ({SSM_STANDARD_BYTES:,} bytes in the "
            f"standard tier, {SSM_ADVANCED_BYTES:,} in the advanced tier); keep it in S3 instead, "
            "e.g. s3://BUCKET/aws-collector/config.yaml, and deploy with --param=\"config=s3://BUCKET/aws-collector/"
            "config.yaml\" (docs/deploy.md, step 3)")
#: SSM refuses to create a parameter whose name (its first path segment) begins with one of these,
#: in any case ("No access to reserved parameter name"): a config there can never have been put.
RESERVED_SSM_PREFIXES = ("aws", "ssm")


def reserved_ssm_name(name: str) -> bool:
    """Whether SSM reserves this parameter name: it begins with aws or ssm, in any case."""
    return name.lstrip("/").lower().startswith(RESERVED_SSM_PREFIXES)


def read_source(source: str) -> str:
    """The text of a config; ConfigError naming the source when it cannot be had."""
    if source.startswith("ssm:") and reserved_ssm_name(source[len("ssm:") :]):
        raise ConfigError(f"{source}: SSM reserves parameter names that begin with 'aws' or 'ssm' (in any "
                          "case, first path segment included), so no config can be stored there; "
                          "use a name such as ssm:/collector/config")
    try:
        if source.startswith("s3://"):
            bucket, _, key = source[len("s3://") :].partition("/")
            body = Clients().client("s3", home_region()).get_object(Bucket=bucket, Key=key)["Body"]
            data = body.read(MAX_CONFIG_BYTES + 1)
        elif source.startswith("ssm:"):
            ssm = Clients().client("ssm", home_region())
            name = source[len("ssm:") :]
            return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
        else:
            with open(source, "rb") as fh:
                data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory, expected a YAML file") from None
    except Exception as exc:  # S3/SSM/permission errors all mean: nothing to run
        raise ConfigError(f"{source}: cannot read it: {describe(exc)}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: the file is over 1 MiB; a config is at most 1 MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text; expected a YAML file") from None
