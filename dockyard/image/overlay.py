"""The merged filesystem as layers are applied bottom-up: which copy of each path is visible.

A whiteout deletes a path and everything under it, an opaque directory hides what lower layers
put in it, a file over a directory (or the reverse) replaces it, the later of two entries in one
layer wins. A hidden copy whose bytes a visible hardlink of its layer still reaches is kept.
Metadata only; README "How waste is counted".
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from dockyard.image.archive import DIR, FILE, HARDLINK, LayerScan


class Copy:
    """One stored copy of a path. `hidden_by`: the layer that hid it, -1 while visible."""

    __slots__ = ("hidden_by", "kind", "layer", "size", "target")

    def __init__(self, layer: int, size: int, kind: int, target: str | None) -> None:
        self.layer = layer
        self.size = size
        self.kind = kind
        self.target = target
        self.hidden_by = -1

    def kept(self, path: str, reached: set[tuple[int, str]]) -> bool:
        """Still in the final image: visible, or a file a visible hardlink reaches (`reached`)."""
        return self.hidden_by < 0 or (self.kind == FILE and (self.layer, path) in reached)


@dataclass(frozen=True)
class LayerChanges:
    """What applying one layer did: bytes it stores and files added, changed, removed."""

    size: int
    added: int
    changed: int
    removed: int


class Overlay:
    """Visible copies, the directory tree and every copy ever stored, by path."""

    def __init__(self) -> None:
        self.visible: dict[str, Copy] = {}
        self.tree: dict[str, set[str]] = {"": set()}  # directory -> child paths
        self.copies: dict[str, list[Copy]] = {}

    def apply(self, index: int, layer: LayerScan) -> LayerChanges:
        """Apply layer `index`: opaque directories, then whiteouts, then its entries in order."""
        removed = 0
        for directory in layer.opaque_dirs:
            removed += self.clear_dir(directory, index)
        for path in layer.whiteouts:
            removed += self.remove(path, index)
        added = changed = size = 0
        for path, entry_size, kind in layer.entries:
            if kind == DIR:
                removed += self.ensure_dir(path, index)
                continue
            target = layer.hardlinks.get(path) if kind == HARDLINK else None
            a, c, r = self.put(path, Copy(index, entry_size, kind, target))
            added += a
            changed += c
            removed += r
            size += entry_size
        return LayerChanges(size, added, changed, removed)

    def reached_by_hardlinks(self) -> set[tuple[int, str]]:
        """(layer, path) of every file that a visible hardlink of that layer points to."""
        return {
            (copy.layer, copy.target)
            for copy in self.visible.values()
            if copy.kind == HARDLINK and copy.target is not None
        }

    def _hide(self, path: str, layer: int) -> int:
        copy = self.visible.pop(path, None)
        if copy is None:
            return 0
        copy.hidden_by = layer
        return 1

    def remove(self, path: str, layer: int) -> int:
        """Delete path and everything under it; return how many files stopped being visible."""
        if not path:
            return self.clear_dir("", layer)
        kids = self.tree.get(posixpath.dirname(path))
        if kids is not None:
            kids.discard(path)
        return self._remove_subtree(path, layer)

    def _remove_subtree(self, path: str, layer: int) -> int:
        removed = 0
        stack = [path]
        while stack:
            current = stack.pop()
            removed += self._hide(current, layer)
            kids = self.tree.pop(current, None)
            if kids:
                stack.extend(kids)
        return removed

    def clear_dir(self, path: str, layer: int) -> int:
        """Opaque directory: hide everything under path, keep the directory."""
        kids = self.tree.get(path)
        if not kids:
            return 0
        removed = sum(self._remove_subtree(kid, layer) for kid in kids)
        self.tree[path] = set()
        return removed

    def ensure_dir(self, path: str, layer: int) -> int:
        """Make path a directory (with its parents); a file in the way is hidden (counted)."""
        removed = 0
        child: str | None = None
        while True:
            kids = self.tree.get(path)
            if kids is not None:
                if child is not None:
                    kids.add(child)
                return removed
            removed += self._hide(path, layer)  # a file replaced by a directory
            self.tree[path] = {child} if child is not None else set()
            child, path = path, posixpath.dirname(path)

    def put(self, path: str, copy: Copy) -> tuple[int, int, int]:
        """Write a non-directory copy; return (added, changed, removed) for the layer's counts."""
        removed = 0
        if path in self.tree:  # a directory replaced by a file
            removed += self.remove(path, copy.layer)
        removed += self.ensure_dir(posixpath.dirname(path), copy.layer)
        self.tree[posixpath.dirname(path)].add(path)
        previous = self.visible.get(path)
        self.visible[path] = copy
        self.copies.setdefault(path, []).append(copy)
        if previous is None:
            return 1, 0, removed
        previous.hidden_by = copy.layer
        if previous.layer == copy.layer:  # the same path twice in one tar: the later wins
            return 0, 0, removed
        return 0, 1, removed
