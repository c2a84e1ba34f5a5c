"""What the documents people write (the config, YAML checks) are read and checked with: a YAML
loader whose aliases cannot blow a small document up (loader), and the pieces every section's
schema is written in (schema). It sits below the config, the checks and the features that own a
config section, so each of them imports it and none imports another for it."""
