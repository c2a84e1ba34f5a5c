"""`aws-collector doctor`: before a first run (or after a change), everything a run needs, tried
once and cheaply, each problem named: the config, the table, every account's role, regions and
permissions, the member role against `iam-policy`, and the report's channels."""
from __future__ import annotations

from collector_core.doctor.accounts import Problem
from collector_core.doctor.checks import Diagnosis, UnknownAccount, diagnose

__all__ = ["Diagnosis", "Problem", "UnknownAccount", "diagnose"]
