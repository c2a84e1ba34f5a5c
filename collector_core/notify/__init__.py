"""The notifier: one report of the current findings, rendered for each channel and sent.

- ``report``: the model every channel renders; ``build``: the report from what the table holds.
- ``mutes``: the ``mute:`` section and which findings it covers.
- ``text``, ``slack``, ``email``: the renderers and senders, each with its own settings schema.
- ``channels``: the ``notify:`` section, and sending one report everywhere it is configured.
- ``summary``: what a person reads at the end of ``aws-collector run`` and the demo.
"""
