"""Configuration: one YAML document, validated whole before anything runs.

- ``model``: the validated Config and its accounts.
- ``schema``: the JSON Schema, assembled from the sections of the features that own them
  (``notify.channels``, ``notify.mutes``, ``metrics``) and the installed collectors' options.
- ``sources``: reading the text from a file, S3 or SSM; ``load``: parsing and validating it
  (``collector_core.documents.loader``: a YAML loader whose aliases cannot blow a small document up, which
  files of checks share).
- ``errors``: turning a schema violation into "file: key: expected X, got Y".

The pieces every section's schema is written in live below this package, in
``collector_core.documents.schema``, so the features that own a section (notify, metrics) never import it.
"""
