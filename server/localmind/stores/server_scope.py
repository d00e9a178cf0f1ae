"""Which workspace the team servers file this store's rows under, and moving them when that changes.

A workspace's key on the servers derives from its owner's identity and its roots (`ids.server_workspace_key`),
or from the name of a workspace the team shares. Versions before identities keyed it by the roots alone
(the local key), so two users whose checkouts sat at one path shared it, and one user's repair could delete
the other's rows. The store remembers the key it last replicated under (meta `server_workspace`); when the
current key differs — the first run after an upgrade, a new `team.user`, a shared workspace joined or left —
`adopt_scope` moves the workspace: every file is queued for the new key through the outbox (the local store
holds every vector, so nothing is embedded again), and this store's own files are deleted under the old key.
Rows under the old key that belong to files this store does not hold — another user's — are left alone.
A cleanup that fails (a server is down) is remembered and tried again on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from localmind.stores.ports import ReplicaSink
from localmind.stores.sqlite_store import VECTOR_BACKENDS, SqliteStore

log = logging.getLogger(__name__)

SCOPE_KEY = "server_workspace"
CLEANUP_KEY = "server_workspace_cleanup"

# Unguarded adapters of the selected backends under another workspace key; the caller closes them.
OpenScope = Callable[[str], dict[str, ReplicaSink]]


@dataclass(frozen=True)
class ServerScope:
    key: str  # This workspace's key on the servers now.
    legacy_key: str  # The key versions before identities used: the roots' hash (the local key).
    open_scope: OpenScope


def adopt_scope(store: SqliteStore, backends: tuple[str, ...], scope: ServerScope) -> None:
    """Move the workspace to `scope.key` on the servers when it was replicated under another key."""
    if not backends:
        return
    previous = store.meta(SCOPE_KEY)
    if previous != scope.key:
        old = previous or scope.legacy_key
        _queue_everything(store, backends)
        pending_cleanup = {k for k in (store.meta(CLEANUP_KEY) or "").split(",") if k} | {old}
        store.set_meta(CLEANUP_KEY, ",".join(sorted(pending_cleanup - {scope.key})))
        store.set_meta(SCOPE_KEY, scope.key)
        log.info("moving this workspace's rows on the team servers from %s to %s", old, scope.key)
    _clean_up(store, scope)


def _queue_everything(store: SqliteStore, backends: tuple[str, ...]) -> None:
    """Queue every file for every backend; a file still being embedded reaches Milvus when it is complete."""
    complete = store.complete_file_ids()
    for backend in backends:
        files = complete if backend in VECTOR_BACKENDS else store.file_ids()
        store.enqueue_many(backend, files, "write")


def _clean_up(store: SqliteStore, scope: ServerScope) -> None:
    """Delete this store's files under each old key; keys whose cleanup failed stay for the next run."""
    waiting = [k for k in (store.meta(CLEANUP_KEY) or "").split(",") if k and k != scope.key]
    if not waiting:
        return
    file_ids = store.file_ids()
    left = []
    for old in waiting:
        try:
            _delete_under(scope.open_scope, old, file_ids)
        except Exception as exc:  # A server that is down: the old rows wait, nothing else does.
            log.warning("could not yet delete this workspace's old rows (key %s) on the team servers: %s", old, exc)
            left.append(old)
    store.set_meta(CLEANUP_KEY, ",".join(left))


def _delete_under(open_scope: OpenScope, key: str, file_ids: list[str]) -> None:
    sinks = open_scope(key)
    try:
        for sink in sinks.values():
            for start in range(0, len(file_ids), 500):
                sink.delete_files(file_ids[start : start + 500])
    finally:
        for sink in sinks.values():
            close = getattr(sink, "close", None)
            if callable(close):
                close()
