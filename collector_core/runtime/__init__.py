"""The runtime: the director that fans out, the workers that collect, the writer that stores.

- ``director``: which accounts run, with which regions and collectors; one event per account.
- ``invokers``: how workers start (threads here, or asynchronous Lambda invocations, relayed).
- ``worker``, ``writer``, ``ledger``: one account's scans, their findings into the table, the record.
- ``events``, ``results``: what travels between them (a worker's event, an account's result).
- ``planning``, ``completion``: what a run would do; how a run ends when workers are lost.

Its AWS clients come from ``collector_core.aws``; it imports neither the config nor the notifier.
"""
