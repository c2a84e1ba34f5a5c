"""The findings table: the only code that knows its item layout and the only caller of its data.

One table, keys ``pk``/``sk`` (strings), TTL on ``ttl``. Everything about an account lives in its
own partition, so one Query reads an account's whole state (the worker's first_seen and the
reports both read it so):

====================  =====================================  =========================================
pk                    sk                                     what
====================  =====================================  =========================================
``A#<account>``       ``F#<region>#<plugin>#<resource_id>``  a finding (deterministic: a re-run or a
                                                             retry overwrites, never duplicates)
``A#<account>``       ``R#<attempt>``                        one worker attempt's record: the scans
                                                             that succeeded, failures summarised
``A#<account>``       ``D#<run>``                            the account counted done in a run (once)
``A#<account>``       ``SEQ``                                the account's attempt counter
``RUNS``              ``R#<run>``                            a run: its accounts, deadline, progress,
                                                             and whether its report went out
``RUNS``              ``SEQ``                                the run counter
``ACCOUNTS``          ``<account>``                          the accounts that have state, by name
``HISTORY``           ``H#<run>``                            a run's report in numbers (per plugin
                                                             open, new, resolved, muted; severities;
                                                             accounts with problems), written once
                                                             per run and kept ``history_days``
====================  =====================================  =========================================

``<run>`` and ``<attempt>`` are numbers the table hands out (atomic counters, zero-padded), so
runs and attempts are ordered by the table, never by a machine's clock. A finding is written only
if no newer attempt has written it (a conditional put on ``seen_seq``), so a late write of an
older run never overwrites a newer sighting.

Every item expires after ``ttl_days`` except the history's, which outlive the findings (default
400 days, a few hundred bytes a run): the HTML report charts how each plugin changed over a year
of runs from them.
"""
from __future__ import annotations

from collector_core.store.table import Store, TableError, Written

__all__ = ["Store", "TableError", "Written"]
