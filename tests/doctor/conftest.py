"""Fixtures for `doctor`'s tests (the place they run in: doctor_place)."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from doctor_place import ROLE, TABLE, Place  # noqa: E402
from proxy import FaultProxy  # noqa: E402

from collector_core.collector import Account  # noqa: E402
from collector_core.store import Store  # noqa: E402


@pytest.fixture
def place(server_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Place]:
    """Two accounts with their member roles, the table, a config naming both; the proxy in front."""
    accounts = [Account("111111111111", "prod"), Account("222222222222", "sandbox")]
    config = tmp_path / "config.yaml"
    config.write_text(f"table: {TABLE}\nrole_name: {ROLE}\nexternal_id: doctor-test\nregions: [us-east-1]\n"
                      "accounts:\n" + "".join(f"  - {{id: '{a.id}', name: {a.name}}}\n" for a in accounts))
    with FaultProxy(server_env) as proxy:
        found = Place(server_env, proxy, accounts, config)
        for account in accounts:
            found.deploy_member_role(account.id)
        Store(TABLE, boto3.client("dynamodb", endpoint_url=server_env)).ensure_table()
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield found
