"""Each notify setting, when wrong, gets an error naming the file, the key and what was expected."""
from __future__ import annotations

from typing import Any

import pytest

from collector_core.config.errors import ConfigError
from collector_core.config.load import parse_config
from collector_core.notify.channels import NotifySettings
from collector_core.plugins import load_plugins

#: Every built-in channel: the notify section's keys besides on_run_complete.
CHANNELS = "email, html, s3, securityhub, slack, stdout, teams, webhook"
ONE_OF = ("expected a mapping with exactly one of "
          "webhook_url, webhook_url_env, webhook_url_ssm, webhook_url_secret")


@pytest.mark.parametrize(("notify", "message"), [
    ("yes", f"notify: expected a mapping of channels ({CHANNELS}), on_run_complete, default and routes, "
            "got the string 'yes'"),
    ({"pagerduty": {}},
     "notify.pagerduty: unknown key 'pagerduty'; expected one of: default, email, html, on_run_complete, routes, s3, "
     "securityhub, slack, stdout, teams, webhook"),
    ({"on_run_complete": "yes"}, "notify.on_run_complete: expected true or false, got the string 'yes'"),
    ({"stdout": 1}, "notify.stdout: expected true or false, got the number 1"),
    ({"slack": {}}, f"notify.slack: {ONE_OF}"),
    ({"slack": {"webhook_url_env": "A", "webhook_url_ssm": "/b"}}, f"notify.slack: {ONE_OF}"),
    ({"slack": {"webhook_url": "hooks.slack.com/services/T/B/SECRETPART"}},
     "notify.slack.webhook_url: expected an https:// webhook URL, got a value not shown here"),
    ({"slack": {"webhook_url_env": "1BAD"}},
     "notify.slack.webhook_url_env: expected an environment variable name, got the string '1BAD'"),
    ({"slack": {"webhook_url_ssm": "has space"}},
     "notify.slack.webhook_url_ssm: expected an SSM parameter name (a SecureString) not beginning with aws "
     "or ssm, which SSM reserves, got the string 'has space'"),
    ({"slack": {"webhook_url_ssm": "/AWS-collector/slack"}},
     "notify.slack.webhook_url_ssm: expected an SSM parameter name (a SecureString) not beginning with aws "
     "or ssm, which SSM reserves, got the string '/AWS-collector/slack'"),
    ({"slack": {"webhook_url_secret": ""}},
     "notify.slack.webhook_url_secret: expected a Secrets Manager secret name or ARN, got the string ''"),
    ({"slack": {"webhook_url_env": "A", "max_findings_per_plugin": 0}},
     "notify.slack.max_findings_per_plugin: expected a whole number, 1 to 1000, got the number 0"),
    ({"slack": {"webhook_url_env": "A", "channel": "#ops"}},
     "notify.slack.channel: unknown key 'channel'; expected one of: max_findings_per_plugin, webhook_url,"),
    ({"email": {"recipients": ["a@example.com"]}}, "notify.email: 'sender' is required"),
    ({"email": {"sender": "a@example.com"}}, "notify.email: 'recipients' is required"),
    ({"email": {"sender": "not-an-address", "recipients": ["a@example.com"]}},
     "notify.email.sender: expected an email address, got the string 'not-an-address'"),
    ({"email": {"sender": "a@example.com", "recipients": []}},
     "notify.email.recipients: expected a list of email addresses, got a list []"),
    ({"email": {"sender": "a@example.com", "recipients": ["ops"]}},
     "notify.email.recipients[0]: expected an email address, got the string 'ops'"),
    ({"email": {"sender": "a@example.com", "recipients": ["a@example.com"], "region": "mars-1"}},
     "notify.email.region: expected an AWS region name such as eu-west-1, got the string 'mars-1'"),
    ({"securityhub": True},
     "notify.securityhub: expected a mapping with an optional region (default: the home region), got the boolean True"),
    ({"securityhub": {"region": "mars-1"}},
     "notify.securityhub.region: expected an AWS region name such as eu-west-1, got the string 'mars-1'"),
    ({"securityhub": {"product": "x"}}, "notify.securityhub.product: unknown key 'product'; expected one of: region"),
    ({"html": {"prefix": "reports/"}}, "notify.html: 'bucket' is required"),
    ({"html": {"bucket": "My_Bucket"}}, "notify.html.bucket: expected an S3 bucket name, got the string 'My_Bucket'"),
    ({"html": {"bucket": "reports-bucket", "prefix": "a b/"}},
     "notify.html.prefix: expected an S3 key prefix such as reports/ (letters, digits and !_.*'()/-), "
     "got the string 'a b/'"),
    ({"html": {"bucket": "reports-bucket", "link_expiry_hours": 169}},
     "notify.html.link_expiry_hours: expected whole hours, 1 to 168 (a presigned link lasts at most 7 days), "
     "got the number 169"),
    ({"html": {"bucket": "reports-bucket", "public": True}},
     "notify.html.public: unknown key 'public'; expected one of: bucket, link_expiry_hours, prefix, region"),
])
def test_a_bad_notify_setting_is_named(notify: Any, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"accounts": [{"id": "111111111111"}], "notify": notify}, "conf.yaml", load_plugins())
    assert f"conf.yaml: {message}" in str(err.value)
    assert "SECRETPART" not in str(err.value)  # a webhook URL never lands in an error message


def test_a_full_notify_section_is_accepted() -> None:
    notify = {"on_run_complete": True, "stdout": False,
              "slack": {"webhook_url_secret": "collector/slack", "max_findings_per_plugin": 25},
              "email": {"sender": "Collector <collector@example.com>", "recipients": ["ops@example.com"],
                        "region": "eu-west-1"},
              "securityhub": {"region": "eu-central-1"},
              "html": {"bucket": "collector-reports", "prefix": "reports/", "link_expiry_hours": 72,
                       "region": "eu-west-1"}}
    doc = {"accounts": [{"id": "111111111111"}], "notify": notify}
    config = parse_config(doc, "conf.yaml", load_plugins())
    assert config.notify == NotifySettings.from_doc(notify, load_plugins())
    assert config.notify.names == ["html", "slack", "email", "securityhub"]  # the page first, for the links
    hub = config.notify.get("securityhub")
    assert hub and hub.settings.region == "eu-central-1" and hub.where == "notify.securityhub"


def test_an_empty_securityhub_section_turns_the_channel_on_alone() -> None:
    doc = {"accounts": [{"id": "111111111111"}], "notify": {"securityhub": {}}}
    settings = parse_config(doc, "conf.yaml", load_plugins()).notify

    hub = settings.get("securityhub")
    assert hub is not None and hub.settings.region is None
    assert settings.names == ["securityhub"]  # like Slack or email, it replaces printing the report


@pytest.mark.parametrize(("notify", "sent"), [
    ({}, ["stdout"]),  # no notify section: the report is printed
    ({"on_run_complete": True}, ["stdout"]),
    ({"stdout": False}, []),
    ({"slack": {"webhook_url_env": "A"}}, ["slack"]),
    ({"slack": {"webhook_url_env": "A"}, "stdout": True}, ["slack", "stdout"]),
    ({"s3": {"bucket": "lake"}, "html": {"bucket": "pages"}}, ["html", "s3"]),  # the page first, for the links
])
def test_which_channels_a_notify_section_turns_on(notify: dict[str, Any], sent: list[str]) -> None:
    doc = {"accounts": [{"id": "111111111111"}], **({"notify": notify} if notify else {})}
    settings = parse_config(doc, "conf.yaml", load_plugins()).notify

    assert settings.names == sent
    assert settings.on_run_complete == bool(notify)
