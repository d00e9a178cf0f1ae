"""The team's embedding cache: vectors in Milvus keyed by the hash of the exact text embedded
(`localmind.indexing.ids.text_hash`: 64 lower-case hexadecimal digits of SHA-256), shared by every
workspace and user of one Milvus server (or Milvus Lite file), so a teammate who indexes a text somebody
already embedded gets its vector without embedding it.

The collection. There is one per model, named like the vectors' collection with ``_cache`` after
``vectors.collection_prefix`` (see `collection_name`):

    hash        VARCHAR(64), primary key    the text's hash
    vector      FLOAT_VECTOR(dimensions)    as the model made it; a FLAT index with the inner product
                                            (Milvus loads no collection without an index; nothing searches it)
    stored_at   INT64                       Unix seconds of the last publication or refresh

Nothing about who stored a text, or where it came from, is kept: no workspace, path or file. There is no
partition key, so `publish` upserts (a plain upsert replaces the row of its key on Milvus 2.3.5 and on
Milvus Lite alike).

Who reads what. A lookup names the hashes it wants, and there is no way to list the cache: a client gets
vectors only for texts whose hash it knows, in practice texts it holds. Asking for the hash of a text one
can guess does tell whether a teammate embedded that exact text. Whoever may write to the collection can
also publish a wrong vector for a hash (a poisoned or stale cache); `mismatches` compares the cache with
the vectors a client embedded itself, so `verify` finds such entries and a repair publishes them again.

Age. Each client serves only rows younger than its time to live (``ttl_seconds``, by ``stored_at``); a hit
older than half of it is published again with a new ``stored_at``, so texts still in use stay, and the
cache holds what the team used within the TTL. On a server the collection also carries the property
``collection.ttl.seconds`` (set at creation, and changed by `alter_collection_properties` when a client
opens it with another setting: the last to do so sets it), and Milvus drops rows older than that by
itself. Milvus Lite keeps no collection properties (it accepts and forgets them, and refuses to alter
them), so `expire` deletes old rows explicitly, on a server too.

Filters are built as in milvus_vectors.py: only from hashes that match the pattern and from integers,
through `_literal`; a hash that does not match is never sent (a lookup skips it, a publication refuses it).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient

from localmind.config import VectorSettings
from localmind.stores.milvus_vectors import (
    _FILTER_BATCH,
    _INSERT_BATCH,
    InvalidIdError,
    MilvusCollection,
    VectorStoreError,
    _batches,
    _list_literal,
    _literal,
    collection_name,
)

log = logging.getLogger(__name__)

_HASH = re.compile(r"[0-9a-f]{64}")
_HASH_LENGTH = 64
_TTL_PROPERTY = "collection.ttl.seconds"
_FLOAT_BYTES = 4
_STORED_AT_BYTES = 8


class MilvusEmbeddingCache(MilvusCollection):
    """One model's shared vectors, by text hash, in a Milvus collection (see the module's docstring)."""

    def __init__(
        self,
        settings: VectorSettings,
        model_id: str,
        dimensions: int,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"the cache's time to live must be at least one second, not {ttl_seconds}")
        self._ttl = int(ttl_seconds)
        self._clock = clock  # Unix seconds; the tests pass a clock set in the past to store old rows.
        name = collection_name(f"{settings.collection_prefix}_cache", model_id, dimensions)
        super().__init__(settings, model_id, dimensions, name)

    def __repr__(self) -> str:
        return (
            f"MilvusEmbeddingCache(uri={self._target.display!r}, collection={self.collection!r}, "
            f"ttl_seconds={self._ttl})"
        )

    # The EmbeddingCache port ------------------------------------------------------------------------

    def lookup(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors younger than the time to live, of those hashes that are text hashes; hits
        older than half of it are published again, so that texts still in use stay."""
        now = self._now()
        rows = self._fresh_rows(hashes, ["hash", "vector", "stored_at"], now)
        found = {str(row["hash"]): np.asarray(row["vector"], dtype=np.float32) for row in rows}
        aging = {str(row["hash"]) for row in rows if 2 * (now - int(row["stored_at"])) > self._ttl}
        self._refresh({text_hash: found[text_hash] for text_hash in aging}, now)
        return found

    def publish(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Share these vectors by their texts' hashes. Every hash and vector is checked before the first
        call: a hash that is not 64 lower-case hexadecimal digits, or a vector of another shape, is refused."""
        now = self._now()
        rows = [self._row(text_hash, vector, now) for text_hash, vector in vectors.items()]
        self._upsert(rows)

    # Maintenance (verify) ---------------------------------------------------------------------------

    def expire(self) -> int:
        """Delete the rows older than the time to live (Milvus Lite ignores the TTL property); answers
        how many there were."""
        expression = f"stored_at <= {_literal(self._cutoff(self._now()))}"
        expired = self._count("count expired cached vectors", expression, "Strong")
        if expired:
            self._call("delete expired cached vectors", self._client.delete, self.collection, filter=expression)
        return expired

    def stats(self) -> dict[str, object]:
        """The collection, its rows (expired ones not yet dropped included), the time to live and an
        approximate size: each row's vector, hash and timestamp."""
        rows = self._count("count cached vectors", "")
        row_bytes = self._dimensions * _FLOAT_BYTES + _HASH_LENGTH + _STORED_AT_BYTES
        return {"collection": self.collection, "rows": rows, "ttl_seconds": self._ttl, "approx_bytes": rows * row_bytes}

    def mismatches(self, expected: Mapping[str, np.ndarray], min_cosine: float = 0.999) -> list[str]:
        """The hashes whose cached vector (one a lookup would serve) points elsewhere than the expected
        one (cosine below min_cosine) or has another dimension: a poisoned or stale entry. Hashes the
        cache lacks, and strings that are not text hashes, are not mismatches."""
        rows = self._fresh_rows(expected.keys(), ["hash", "vector"], self._now())
        return sorted(
            str(row["hash"])
            for row in rows
            if not _same_direction(np.asarray(row["vector"], dtype=np.float32), expected[str(row["hash"])], min_cosine)
        )

    # The collection ---------------------------------------------------------------------------------

    def _schema(self) -> Any:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("hash", DataType.VARCHAR, max_length=_HASH_LENGTH, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self._dimensions)
        schema.add_field("stored_at", DataType.INT64)
        return schema

    def _collection_options(self) -> dict[str, Any]:
        return {"properties": {_TTL_PROPERTY: self._ttl}}

    def _check_description(self, description: dict[str, Any]) -> None:
        """Bring the collection's TTL property to this client's setting (on a server; Lite keeps none)."""
        if self._target.lite:
            return
        if (description.get("properties") or {}).get(_TTL_PROPERTY) == str(self._ttl):
            return
        try:
            self._call(
                "set the cache's time to live",
                self._client.alter_collection_properties,
                self.collection,
                properties={_TTL_PROPERTY: self._ttl},
            )
        except VectorStoreError as exc:
            # Each client still serves only rows younger than its own setting, and expire() deletes old rows.
            log.warning("the embedding cache keeps its previous time to live: %s", exc)

    # Rows and reads ---------------------------------------------------------------------------------

    def _row(self, text_hash: str, vector: np.ndarray, stored_at: int) -> dict[str, Any]:
        key = _checked_hash(text_hash)
        checked = np.asarray(vector, dtype=np.float32)
        if checked.shape != (self._dimensions,) or not np.isfinite(checked).all():
            raise VectorStoreError(
                f"the vector for text hash {key} has shape {checked.shape} or values that are not finite; "
                f"the cache of {self._model_id} holds finite vectors of {self._dimensions} dimensions"
            )
        return {"hash": key, "vector": checked, "stored_at": stored_at}

    def _upsert(self, rows: Sequence[dict[str, Any]]) -> None:
        for batch in _batches(rows, _INSERT_BATCH):
            self._call("publish cached vectors", self._client.upsert, self.collection, data=list(batch))

    def _refresh(self, vectors: Mapping[str, np.ndarray], now: int) -> None:
        """Publish aging hits again; a failure costs only their longer life, so the lookup still answers."""
        if not vectors:
            return
        try:
            self._upsert([self._row(text_hash, vector, now) for text_hash, vector in vectors.items()])
        except VectorStoreError as exc:
            log.warning("could not refresh %d cached vectors: %s", len(vectors), exc)

    def _fresh_rows(self, hashes: Iterable[str], fields: list[str], now: int) -> list[dict[str, Any]]:
        """The rows of these hashes younger than the time to live, _FILTER_BATCH hashes per query."""
        valid = sorted({text_hash for text_hash in hashes if _is_hash(text_hash)})
        fresh = f"stored_at > {_literal(self._cutoff(now))}"
        rows: list[dict[str, Any]] = []
        for batch in _batches(valid, _FILTER_BATCH):
            rows += self._query("look up cached vectors", f"hash in {_list_literal(batch)} and {fresh}", fields)
        return rows

    def _now(self) -> int:
        return int(self._clock())

    def _cutoff(self, now: int) -> int:
        """The newest stored_at that has expired."""
        return now - self._ttl


def _is_hash(value: object) -> bool:
    return isinstance(value, str) and _HASH.fullmatch(value) is not None


def _checked_hash(value: str) -> str:
    if not _is_hash(value):
        raise InvalidIdError(f"{value!r} is not a text hash (64 lower-case hexadecimal digits)")
    return value


def _same_direction(cached: np.ndarray, expected: np.ndarray, min_cosine: float) -> bool:
    """Whether two vectors have one shape and a cosine of at least min_cosine (a zero vector has none)."""
    wanted = np.asarray(expected, dtype=np.float32)
    if wanted.shape != cached.shape:
        return False
    norms = float(np.linalg.norm(cached)) * float(np.linalg.norm(wanted))
    return norms > 0 and float(np.dot(cached, wanted)) / norms >= min_cosine
