"""The findings table: the only code that knows its item layout and the only caller of its data.

One table, keys ``pk``/``sk`` (strings), TTL on ``ttl``. Everything about an account lives in its
own partition, so one Query reads an account's whole state (the worker's first_seen and the
reports both read it so):

====================  =====================================  =========================================
pk                    sk                                     what
====================  =====================================  =========================================
``A#<account>``       ``F#<region>#<plugin>#<resource_id>``  a finding (deterministic: a re-run or a
                                                             retry overwrites, never duplicates),
                                                             with the sighting of its content
``A#<account>``       ``R#<attempt>``                        one worker attempt's record: the scans
                                                             that succeeded, what each saw (12-byte
                                                             sightings, sorted per place), failures
                                                             summarised
``A#<account>``       ``R#<attempt>#S#<part>``               sightings too many for the attempt's
                                                             item (written before it)
``A#<account>``       ``D#<run>``                            the account counted done in a run (once)
``A#<account>``       ``SEQ``                                the account's attempt counter
``RUNS``              ``R#<run>``                            a run: its accounts, deadline, progress,
                                                             and whether its report went out
``RUNS``              ``SEQ``                                the run counter
``ACCOUNTS``          ``<account>``                          the accounts that have state, by name
``TABLE``             ``LAYOUT``                             the layout the table holds (0.4)
``HISTORY``           ``H#<run>``                            a run's report in numbers (per plugin
                                                             open, new, resolved, muted; severities;
                                                             accounts with problems), written once
                                                             per run and kept ``history_days``
====================  =====================================  =========================================

``<run>`` and ``<attempt>`` are numbers the table hands out (atomic counters, zero-padded), so
runs and attempts are ordered by the table, never by a machine's clock. A run writes what
changed: a finding's item is written when it is new or its content changed, and then only if no
newer attempt has written it (a conditional put on ``seen_seq``), so a late write of an older run
never overwrites a newer sighting. A finding seen unchanged is only named in the attempt's record;
a reader takes its last sighting (``last_seen``, ``run_id``, and ``ttl`` = ``ttl_days`` after it)
from the newest attempt that names it, or from its own item if that is newer.

TTL: an open finding's item is written to expire ``ttl_days`` plus 31 to 90 days (spread by its key)
after its write, and a sighting pushes that back to ``ttl_days`` + 90 days once it is within
``ttl_days`` + 30: an open finding never expires while it is seen, at one write in about 60 days.
A finding a successful scan did not see is marked to expire ``ttl_days`` after that scan (a later
sighting brings it back). Whether a finding is current is still the reader's to say, from the
attempts, whatever DynamoDB has not deleted yet. Every other item expires after ``ttl_days``
except the history's, which outlive the findings (default 400 days, a few hundred bytes a run):
the HTML report charts how each plugin changed over a year of runs from them; and the layout's.
"""
from __future__ import annotations

from collector_core.store.table import Store, TableError, Written

__all__ = ["Store", "TableError", "Written"]
