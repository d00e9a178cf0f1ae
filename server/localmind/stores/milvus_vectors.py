"""Vectors in Milvus, behind the same `VectorStore` port as the embedded index: a Milvus server
(``vectors.uri = "http://host:19530"`` or ``https://…``, with ``vectors.token``) or a Milvus Lite file
(``vectors.uri = "/path/to/vectors.db"``).

The collection. There is one per model, named ``{collection_prefix}_{model slug}_{digest}_{dimensions}``
(the digest tells apart model ids that slug alike), and every workspace shares it:

    id          VARCHAR(64), primary key    the workspace key followed by the chunk id (indexing/ids.py)
    workspace   VARCHAR(64)                 the workspace key; the partition key on a server
    file_id     VARCHAR(64)                 the file id: delete-by-file, file filters, the inventory
    vector      FLOAT_VECTOR(dimensions)    unit length; a FLAT index with the inner product (= cosine)

FLAT compares the query with every vector of the workspace, so answers are exact, as the embedded
index's are; at workspace scale that is one matrix product. An HNSW index would answer faster beyond a
few million vectors per collection, but approximately. On Milvus Lite the workspace is a plain field:
milvus-lite 2.x refuses expressions over a partition key.

Primary keys. Chunk ids derive from paths and text, so two workspaces (two users with the same checkout)
can hold equal chunk ids. Milvus resolves a delete-by-expression into the primary keys it matches and
then deletes every row with those keys, whatever their workspace: with the bare chunk id as the key, one
user's delete removed the other user's rows (both Milvus 2.3.5 and Milvus Lite do this). So the key is
the workspace key followed by the chunk id (16 + 24 hexadecimal digits for Local Mind's ids, within the
field's 64), and no two workspaces share one; `search` and `file_inventory` strip the prefix and answer
bare chunk ids. Rows written by earlier versions have the bare chunk id as their key. They stay readable
(an id without this workspace's prefix is answered as it is), and every delete selects rows by
workspace and file, so deleting or rewriting a file removes them too; rewriting stores the prefixed
keys. Until a file is rewritten, its old rows keep the old hazard: deleting them may also delete another
workspace's old rows with the same chunk ids, which the next repair writes again.

Filters. Milvus filters are expression text, and neither the Milvus 2.3 server nor Milvus Lite binds
template values (pymilvus's ``filter_params`` needs Milvus 2.5), so expressions are assembled here, but
only from ids that match a strict pattern (lower-case hexadecimal, which needs no quoting or escaping)
and from integers, through one function, `_literal`. Nothing else a user or a file supplies reaches an
expression. A value that does not match is never sent: writes refuse it, reads treat it as the absent
id it must be. A list of ids is split into filters of at most `_FILTER_BATCH` ids.

Writes. `write_files` deletes the rows of all its files with one filter and then inserts the new rows,
`_INSERT_BATCH` at a time across files; `write_file` and `delete_file` are its one-file cases. Milvus
2.3's upsert misplaces rows in a partition-key collection, and its delete-by-filter sees every earlier
write whatever the consistency level, so delete-then-insert is the idempotent form. The steps are not
atomic: a failure between them leaves files without vectors until the updates are applied again (the
outbox does that).

Timeouts. Every call carries ``vectors.timeout``, rounded up to whole seconds: pymilvus bounds its
retries by the timeout only when it is a whole number (else a call to a server that went away retries
for minutes). Failures become a `VectorStoreError` that names ``vectors.uri``; the token never appears
in a message, a log line or the repr, and credentials in the URI are left out of both.

Consistency. Searches and queries use ``vectors.consistency_level`` (and a new collection takes it as
its default). Bounded, the default, answers at once, but a write may take up to the server's graceful
time (5 s by default) to show; Session shows this process's own writes at once; Strong waits until
every earlier write is visible (about one time tick: 200 ms on a default server). `file_inventory` takes
another level for one read: a repair re-reads with Strong to see its own writes.

Milvus Lite runs inside this process (3.x) or in a child of it (2.x), and locks its file: one process
at a time may use it. In this process every collection on one file (the vectors' and the embedding
cache's, see milvus_cache.py) shares one Lite server, stopped when the last of them closes, which frees
the file for other processes.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import math
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException

from localmind.config import VectorSettings, uri_without_credentials
from localmind.errors import ConfigError, LocalMindError
from localmind.stores.records import FileUpdate

log = logging.getLogger(__name__)

T = TypeVar("T")

_HEX_ID = re.compile(r"[0-9a-f]{1,64}")
_ID_LENGTH = 64
_SERVER_SCHEMES = frozenset({"http", "https", "tcp", "grpc", "unix"})
_CONSISTENCY_LEVELS = frozenset({"Strong", "Bounded", "Session", "Eventually"})
_MAX_TOP_K = 16384  # Milvus refuses a larger limit.
_INSERT_BATCH = 1000  # Rows per insert: about 1.5 MB at 384 dimensions, far below gRPC's message limit.
_FILTER_BATCH = 1000  # Ids per filter expression: about 70 kB of expression text at most.
_PARTITIONS = 16  # Partitions behind the workspace partition key on a server.
_SLUG_LENGTH = 48
# What a failed call raises: pymilvus's own error, or a bare gRPC error for codes pymilvus does not retry.
_CALL_ERRORS: tuple[type[BaseException], ...] = (MilvusException, importlib.import_module("grpc").RpcError)


class VectorStoreError(LocalMindError):
    """Milvus cannot be reached or refused a request; the message names the setting to check."""


class InvalidIdError(VectorStoreError, ValueError):
    """A workspace key, file id or chunk id is not one of Local Mind's hexadecimal ids."""


def collection_name(prefix: str, model_id: str, dimensions: int) -> str:
    """The collection that holds one model's vectors: a readable slug of the model id, a digest that
    keeps ids with the same slug apart, and the dimension."""
    slug = re.sub(r"[^a-z0-9]+", "_", model_id.lower()).strip("_")[:_SLUG_LENGTH] or "model"
    digest = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:8]
    return f"{prefix}_{slug}_{digest}_{dimensions}"


class MilvusCollection:
    """One model's collection on a Milvus server or in a Milvus Lite file: the connection, the collection
    (created when missing, checked and loaded), and calls bounded by vectors.timeout whose failures become
    a VectorStoreError. MilvusVectors and the embedding cache (milvus_cache.py) build on it; a subclass
    says what its collection holds through `_schema` and `_collection_options`."""

    def __init__(self, settings: VectorSettings, model_id: str, dimensions: int, collection: str) -> None:
        if dimensions <= 0:
            raise ValueError(f"a vector needs at least one dimension, not {dimensions}")
        self._settings = settings
        self._model_id = model_id
        self._dimensions = dimensions
        self._target = _Target.from_uri(settings.uri)
        self.collection = collection
        # pymilvus retries a failing call for as long as its timeout only when that is a whole number of
        # seconds; otherwise it makes 75 attempts (about 3.5 minutes against a server that is down).
        self._timeout = max(1, math.ceil(settings.timeout))
        self._closed = False
        self._client = self._connect()
        try:
            self._prepare_collection()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection (and, for the last user of a Milvus Lite file here, its Lite server)."""
        if self._closed:
            return
        self._closed = True
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._target.lite:
            _LITE_SERVERS.release(self._target.uri)

    # What a subclass's collection holds -------------------------------------------------------------

    def _schema(self) -> Any:
        """The collection's fields, with a FLOAT_VECTOR field named "vector" of the model's dimensions."""
        raise NotImplementedError

    def _collection_options(self) -> dict[str, Any]:
        """Further arguments for create_collection (partitions, properties)."""
        return {}

    def _check_description(self, description: dict[str, Any]) -> None:
        """Check (or bring up to date) an existing collection, given describe_collection's answer."""

    # Connection and collection ----------------------------------------------------------------------

    def _connect(self) -> MilvusClient:
        token = self._settings.token.get_secret_value() if self._settings.token and not self._target.lite else ""
        if self._target.lite:
            _LITE_SERVERS.acquire(self._target.uri)
        log.debug("connecting to Milvus at %s", self._target.display)
        try:
            # A private alias: pymilvus shares connections by URI, and closing a shared one would close it for all.
            alias = f"localmind-{uuid.uuid4().hex}"
            return MilvusClient(uri=self._target.uri, token=token, timeout=self._settings.timeout, alias=alias)
        except Exception as exc:  # pymilvus raises several kinds here, not all MilvusException.
            if self._target.lite:
                _LITE_SERVERS.release(self._target.uri)
            self._closed = True
            raise self._error("connect", exc) from exc

    def _prepare_collection(self) -> None:
        if not self._call("look up the collection", self._client.has_collection, self.collection):
            self._create_collection()
        description = self._call("describe the collection", self._client.describe_collection, self.collection)
        self._check_dimensions(description)
        self._check_description(description)
        self._call("load the collection", self._client.load_collection, self.collection)

    def _create_collection(self) -> None:
        index = self._client.prepare_index_params()
        index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        log.info("creating the Milvus collection %s at %s", self.collection, self._target.display)
        try:
            self._call(
                "create the collection",
                self._client.create_collection,
                self.collection,
                schema=self._schema(),
                index_params=index,
                consistency_level=self._settings.consistency_level,
                **self._collection_options(),
            )
        except VectorStoreError:
            # Another process may have created it a moment ago; that one is as good as ours.
            if not self._call("look up the collection", self._client.has_collection, self.collection):
                raise

    def _check_dimensions(self, description: dict[str, Any]) -> None:
        found = {f["name"]: f.get("params", {}).get("dim") for f in description.get("fields", [])}.get("vector")
        if found is not None and int(found) != self._dimensions:
            raise VectorStoreError(
                f"the Milvus collection {self.collection} at {self._target.display} (vectors.uri) holds "
                f"{found}-dimensional vectors, but the model {self._model_id} makes {self._dimensions}; "
                "drop that collection or choose another vectors.collection_prefix"
            )

    # Calls ------------------------------------------------------------------------------------------

    def _query(
        self, what: str, expression: str, fields: list[str], consistency: str | None = None
    ) -> list[dict[str, Any]]:
        """The rows that match, read with this consistency level (by default vectors.consistency_level)."""
        rows = self._call(
            what,
            self._client.query,
            self.collection,
            filter=expression,
            output_fields=fields,
            consistency_level=self._consistency(consistency),
        )
        return list(rows)

    def _count(self, what: str, expression: str, consistency: str | None = None) -> int:
        rows = self._query(what, expression, ["count(*)"], consistency)
        return int(rows[0]["count(*)"]) if rows else 0

    def _consistency(self, level: str | None) -> str:
        if level is None:
            return self._settings.consistency_level
        if level not in _CONSISTENCY_LEVELS:
            raise ValueError(f"{level!r} is not a Milvus consistency level ({', '.join(sorted(_CONSISTENCY_LEVELS))})")
        return level

    def _call(self, what: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One Milvus call, bounded by vectors.timeout; its failures become a VectorStoreError."""
        try:
            return method(*args, timeout=self._timeout, **kwargs)
        except _CALL_ERRORS as exc:
            raise self._error(what, exc) from exc

    def _error(self, what: str, exc: BaseException) -> VectorStoreError:
        reason = _reason(exc, self._settings.token.get_secret_value() if self._settings.token else "")
        if self._target.lite:
            return VectorStoreError(
                f"cannot {what} in the Milvus Lite file {self._target.display} (vectors.uri): {reason}. "
                "Milvus Lite lets one process at a time use a file: stop the other process using it, "
                "or use a Milvus server"
            )
        return VectorStoreError(
            f"cannot {what} on the Milvus server at {self._target.display} (vectors.uri): {reason}. "
            "Check that the server is running and reachable at vectors.uri, and that vectors.token is right"
        )


class MilvusVectors(MilvusCollection):
    """The vectors of one workspace and one model in a Milvus collection (see the module's docstring)."""

    def __init__(self, settings: VectorSettings, workspace: str, model_id: str, dimensions: int) -> None:
        self._workspace = _checked_id(workspace, "workspace key")
        name = collection_name(settings.collection_prefix, model_id, dimensions)
        super().__init__(settings, model_id, dimensions, name)

    def __repr__(self) -> str:
        return (
            f"MilvusVectors(uri={self._target.display!r}, collection={self.collection!r}, "
            f"workspace={self._workspace!r})"
        )

    # The VectorStore port ---------------------------------------------------------------------------

    def write_file(self, update: FileUpdate) -> None:
        """Replace the file's vectors with the update's; writing the same update twice changes nothing."""
        self.write_files([update])

    def write_files(self, updates: Sequence[FileUpdate]) -> None:
        """Replace the vectors of every file in the batch (the last update wins for a file named twice):
        one delete for all the files, then inserts of up to _INSERT_BATCH rows. Every id and vector is
        checked before the first call."""
        latest = {_checked_id(update.file.id, "file id"): update for update in updates}
        rows = [row for file_id, update in latest.items() for row in self._rows(update, file_id)]
        self.delete_files(list(latest))
        for batch in _batches(rows, _INSERT_BATCH):
            self._call("insert vectors", self._client.insert, self.collection, data=list(batch))

    def delete_file(self, file_id: str) -> None:
        """Remove every vector of the file from this workspace."""
        self.delete_files([file_id])

    def delete_files(self, file_ids: Sequence[str]) -> None:
        """Remove every vector of these files from this workspace: one delete per _FILTER_BATCH files."""
        if isinstance(file_ids, str):
            raise TypeError("delete_files takes a sequence of file ids, not one id")
        checked = sorted({_checked_id(file_id, "file id") for file_id in file_ids})
        for batch in _batches(checked, _FILTER_BATCH):
            self._call("delete vectors", self._client.delete, self.collection, filter=self._files_scope(batch))

    def search(self, query: np.ndarray, k: int, allowed_files: set[str] | None = None) -> list[tuple[str, float]]:
        """The k nearest chunks by cosine similarity, best first, optionally only in these files."""
        expression = self._scope(allowed_files)
        if k <= 0 or expression is None:
            return []
        hits = self._call(
            "search",
            self._client.search,
            self.collection,
            data=[self._query_vector(query)],
            filter=expression,
            limit=min(k, _MAX_TOP_K),
            output_fields=["id"],
            search_params={"metric_type": "IP", "params": {}},
            consistency_level=self._settings.consistency_level,
        )
        return [(self._chunk_id(hit["id"]), float(hit["distance"])) for hit in hits[0]]

    def file_centroid(self, file_id: str) -> np.ndarray | None:
        """The normalised mean of a file's vectors, or None when it has none."""
        if not _is_id(file_id):
            return None
        rows = self._query("read a file's vectors", self._files_scope([file_id]), ["vector"])
        if not rows:
            return None
        mean = np.asarray([row["vector"] for row in rows], dtype=np.float32).mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else None

    def file_inventory(self, consistency: str | None = None) -> dict[str, set[str]]:
        """Every file with vectors in this workspace → the ids of its chunks, read with this consistency
        level when given (a repair asks for "Strong" to see its own writes), else vectors.consistency_level."""
        inventory: dict[str, set[str]] = {}
        rows = self._query("list the workspace's vectors", self._workspace_scope(), ["file_id"], consistency)
        for row in rows:
            inventory.setdefault(str(row["file_id"]), set()).add(self._chunk_id(row["id"]))
        return inventory

    # The collection ---------------------------------------------------------------------------------

    def _schema(self) -> Any:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, max_length=_ID_LENGTH, is_primary=True)
        schema.add_field("workspace", DataType.VARCHAR, max_length=_ID_LENGTH, is_partition_key=not self._target.lite)
        schema.add_field("file_id", DataType.VARCHAR, max_length=_ID_LENGTH)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self._dimensions)
        return schema

    def _collection_options(self) -> dict[str, Any]:
        return {} if self._target.lite else {"num_partitions": _PARTITIONS}

    # Rows, keys and expressions ---------------------------------------------------------------------

    def _rows(self, update: FileUpdate, file_id: str) -> list[dict[str, Any]]:
        if update.model_id != self._model_id:
            raise VectorStoreError(
                f"an update embedded with {update.model_id} cannot go into the collection of {self._model_id}"
            )
        if not update.chunks:
            return []
        vectors = np.asarray(update.vectors, dtype=np.float32)
        if vectors.shape != (len(update.chunks), self._dimensions):
            raise VectorStoreError(
                f"file {file_id}: expected {len(update.chunks)} vectors of {self._dimensions} dimensions, "
                f"got an array of shape {vectors.shape}"
            )
        return [
            {"id": self._row_key(chunk.id), "workspace": self._workspace, "file_id": file_id, "vector": row}
            for chunk, row in zip(update.chunks, vectors, strict=True)
        ]

    def _row_key(self, chunk_id: str) -> str:
        """The primary key of a chunk's row: the workspace key, then the chunk id."""
        key = self._workspace + _checked_id(chunk_id, "chunk id")
        if len(key) > _ID_LENGTH:
            raise InvalidIdError(
                f"chunk id {chunk_id!r} with the workspace key {self._workspace!r} makes a key of {len(key)} "
                f"characters; the collection's keys hold at most {_ID_LENGTH}"
            )
        return key

    def _chunk_id(self, key: object) -> str:
        """The chunk id of a row's key; a row written before keys carried the workspace has the bare id."""
        text = str(key)
        prefixed = text.startswith(self._workspace) and len(text) > len(self._workspace)
        return text[len(self._workspace) :] if prefixed else text

    def _query_vector(self, query: np.ndarray) -> np.ndarray:
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        if vector.shape != (self._dimensions,):
            raise ValueError(f"a query vector needs {self._dimensions} dimensions, not {vector.shape[0]}")
        return vector

    def _workspace_scope(self) -> str:
        return f"workspace == {_literal(self._workspace)}"

    def _files_scope(self, file_ids: Sequence[str]) -> str:
        return f"{self._workspace_scope()} and file_id in {_list_literal(file_ids)}"

    def _scope(self, files: Iterable[str] | None) -> str | None:
        """This workspace, narrowed to these files when given; None when no file could match."""
        if files is None:
            return self._workspace_scope()
        valid = sorted(f for f in files if _is_id(f))
        return self._files_scope(valid) if valid else None


@dataclass(frozen=True)
class _Target:
    """Where the vectors live: what pymilvus connects to, and how messages show it (without credentials)."""

    uri: str
    display: str
    lite: bool

    @classmethod
    def from_uri(cls, uri: str) -> _Target:
        uri = uri.strip()
        parts = urlsplit(uri)
        if parts.scheme.lower() in _SERVER_SCHEMES:
            # A user:password@ part stays out of every message.
            return cls(uri, uri_without_credentials(uri), lite=False)
        path = Path(uri).expanduser()
        if path.suffix != ".db":
            raise ConfigError(
                f"vectors.uri = {uri!r} is neither a Milvus server URI (http:// or https://) "
                "nor a Milvus Lite file path ending in .db"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        resolved = str(path.resolve())
        return cls(resolved, resolved, lite=True)


class _LiteServers:
    """The Milvus Lite servers this process runs, one per file, each stopped when its last user closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, int] = {}

    def acquire(self, path: str) -> None:
        with self._lock:
            self._users[path] = self._users.get(path, 0) + 1

    def release(self, path: str) -> None:
        with self._lock:
            left = self._users.get(path, 1) - 1
            if left > 0:
                self._users[path] = left
                return
            self._users.pop(path, None)
        _stop_lite_server(path)


def _stop_lite_server(path: str) -> None:
    """Stop the Lite server of a file, which unlocks the file; older milvus-lite releases stop theirs at exit."""
    try:
        manager = importlib.import_module("milvus_lite.server_manager").server_manager_instance
    except (ImportError, AttributeError):
        return
    release = getattr(manager, "release_server", None)
    if callable(release):
        release(path)


_LITE_SERVERS = _LiteServers()


def _is_id(value: object) -> bool:
    return isinstance(value, str) and _HEX_ID.fullmatch(value) is not None


def _checked_id(value: str, what: str) -> str:
    if not _is_id(value):
        raise InvalidIdError(f"{what} {value!r} is not a Local Mind id (1 to 64 lower-case hexadecimal digits)")
    return value


def _literal(value: str | int) -> str:
    """A Milvus literal for an id or an integer: the one way a value enters an expression. Only validated
    hexadecimal ids and integers get here, so none needs escaping; the check is repeated for that reason."""
    if isinstance(value, str):
        return f'"{_checked_id(value, "id")}"'
    if type(value) is int:  # Not a bool, nor an int subclass with a text of its own.
        return str(value)
    raise InvalidIdError(f"{value!r} is neither a Local Mind id nor an integer")


def _list_literal(values: Iterable[str]) -> str:
    """A Milvus list literal of ids, for an ``in`` expression."""
    return f"[{', '.join(_literal(value) for value in values)}]"


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """The items in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reason(exc: BaseException, secret: str) -> str:
    """What went wrong, in pymilvus's words, with the token (should it ever appear) masked."""
    text = str(getattr(exc, "message", "") or exc) or type(exc).__name__
    return text.replace(secret, "***") if secret else text
