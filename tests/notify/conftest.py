"""Fixtures for the notifier tests: the loopback listener at a Slack-webhook-shaped URL, whose
last part stands for the secret that must never be logged."""
from __future__ import annotations

import pytest
from loopback import Listener


@pytest.fixture
def http_listener(http_listener: Listener) -> Listener:
    http_listener.url += "/services/T000/B000/SECRETPART"
    return http_listener
