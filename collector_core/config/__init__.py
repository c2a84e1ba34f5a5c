"""Configuration: one YAML document, validated whole before anything runs.

- ``model``: the validated Config and its accounts.
- ``schema``: the JSON Schema, assembled from the sections of the features that own them
  (``notify.channels``, ``notify.mutes``, ``metrics``) and the installed collectors' options.
- ``sources``: reading the text from a file, S3 or SSM; ``load``: parsing and validating it.
- ``explain``: turning a schema violation into "file: key: expected X, got Y".
- ``fragments``: schema pieces the sections share.

Nothing is imported here, so a feature can import ``config.fragments`` without a cycle.
"""
