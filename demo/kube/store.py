"""The demo cluster's objects in memory, keyed as the API server stores them, and the
resourceVersion counter that every write advances."""

from __future__ import annotations

import uuid

from demo.kube.resources import Obj, now_iso

# (group, plural, namespace, name); the namespace is "" for cluster-scoped objects.
Key = tuple[str, str, str, str]


class Store:
    """Objects by (group, plural, namespace, name), with resourceVersions and stable uids.

    It takes no lock of its own: the cluster holds one lock around each API call, which reads
    and writes several objects and must see them consistently.
    """

    def __init__(self, created: float) -> None:
        # When the seeded objects were created: the demo cluster has been up for a while.
        self.created = created
        self._objects: dict[Key, Obj] = {}
        self._version = 1000

    @property
    def latest_version(self) -> str:
        """The resourceVersion of the newest write, as a list's metadata reports it."""
        return str(self._version)

    def next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def add(self, group: str, plural: str, namespace: str, obj: Obj) -> Obj:
        """Store a new object: a uid derived from its name, a creationTimestamp unless it has
        one, and the next resourceVersion."""
        meta = obj["metadata"]
        uid_source = f"{plural}/{namespace}/{meta['name']}/{self._version}"
        meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, uid_source)))
        meta.setdefault("creationTimestamp", now_iso(self.created))
        meta["resourceVersion"] = self.next_version()
        if namespace:
            meta["namespace"] = namespace
        self._objects[(group, plural, namespace, meta["name"])] = obj
        return obj

    def get(self, key: Key) -> Obj | None:
        return self._objects.get(key)

    def __getitem__(self, key: Key) -> Obj:
        return self._objects[key]

    def __setitem__(self, key: Key, obj: Obj) -> None:
        self._objects[key] = obj

    def __contains__(self, key: Key) -> bool:
        return key in self._objects

    def remove(self, key: Key) -> None:
        self._objects.pop(key, None)

    def items(self) -> list[tuple[Key, Obj]]:
        """A snapshot, in insertion order: callers may add and remove objects while they walk
        it (a deleted pod's owner makes its replacement)."""
        return list(self._objects.items())
