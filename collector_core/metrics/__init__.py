"""Run metrics per plugin and region (findings, errors, duration, API calls) and the sinks they go to.

- ``samples``: a worker's result as samples; ``sinks``: the ``metrics:`` section and ``emit``.
- ``emf``, ``cloudwatch``, ``wavefront``: one module per sink, each with its own settings.
"""
