"""A YAML loader whose aliases cannot blow a small document up.

YAML's anchors and aliases let a few hundred bytes name a structure of billions of values (the
"billion laughs"): PyYAML builds it cheaply, shared, but validating or printing it walks every
copy. This loader counts what each alias would repeat, as the document is composed, and refuses
the document once aliases would add more than MAX_ALIAS_EXPANSION: before anything walks it.
"""
from __future__ import annotations

from typing import Any

import yaml

#: Values and characters that aliases may add to a document in all: as much as a whole config
#: file may hold (config.sources.MAX_CONFIG_BYTES), so repeating a block of settings per account
#: works and a document cannot expand past twice its largest size.
MAX_ALIAS_EXPANSION = 1024 * 1024


class AliasBomb(yaml.YAMLError):
    """A document whose aliases repeat too much, or refer to themselves."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader, refusing documents whose aliases expand past MAX_ALIAS_EXPANSION."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}  # id(node) -> what the node expands to
        self._open: set[str] = set()  # anchors whose nodes are being composed
        self._expansion = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:  # PyYAML would build a cycle: infinitely deep data
                raise AliasBomb(f"the alias *{event.anchor} is inside its own anchor", event.start_mark)
            node = self.anchors.get(event.anchor)
            if node is not None:  # an undefined alias is PyYAML's own error, raised next
                self._expansion += self._size(node)
                if self._expansion > MAX_ALIAS_EXPANSION:
                    raise AliasBomb(f"with *{event.anchor}, YAML aliases repeat more than "
                                    f"{MAX_ALIAS_EXPANSION:,} values and characters, the most a config "
                                    "may repeat through anchors and aliases", event.start_mark)
            return super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        if anchor is None:
            return super().compose_node(parent, index)
        self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._open.discard(anchor)

    def _size(self, node: Any) -> int:
        """Values plus characters of scalars in ``node`` expanded (a scalar: 1 + its length)."""
        size = self._sizes.get(id(node))
        if size is None:
            if isinstance(node, yaml.ScalarNode):
                size = 1 + len(node.value)
            elif isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._size(key) + self._size(value) for key, value in node.value)
            else:
                size = 1 + sum(self._size(item) for item in node.value)
            self._sizes[id(node)] = size  # an aliased node is complete, so its size is final
        return size


def load_yaml(text: str) -> Any:
    """The document in ``text``, as yaml.safe_load gives it, with aliases bounded."""
    return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 (a SafeLoader subclass)
