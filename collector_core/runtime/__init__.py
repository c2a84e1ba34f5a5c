"""The runtime: the director that fans out, the workers that collect, the writer that stores.

- ``director``: which accounts run, with which regions and collectors; one event per account.
- ``invokers``: how workers start (threads here, or asynchronous Lambda invocations, relayed).
- ``worker``, ``writer``, ``ledger``: one account's scans, their findings into the table, the record.
- ``messages``: the events and results that travel between them.
- ``clients``: the shared botocore session and its clients (``botocore_patch``: its speed-up).
"""
