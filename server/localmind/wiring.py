"""The composition root: the one place that builds Local Mind's objects from settings.

`Components` holds, for one workspace and one set of settings, the resilience guards, the embedder (plain
and guarded), the server backends the settings select, and builds from them the store handles, searcher,
navigator, indexer, chat and summarizer. Every front end asks it — the command line, the language server's
`WorkspaceService`, the benchmarks — so a guard, a backend policy or a store handle is decided here once
and every front end gets the same guarded objects.

Nothing here starts a thread or knows an editor: which thread runs what is `service.py`'s business.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from localmind.chat.ask import Chat
from localmind.chat.conversations import Conversations
from localmind.chat.summarize import Summarizer
from localmind.config import Settings, check_transport
from localmind.embeddings import BULK_PURPOSE, OnnxEmbedder, load_embedder, model_identity
from localmind.errors import LocalMindError
from localmind.indexing import ids
from localmind.indexing.pipeline import GiveWay, Indexer, OpenFiles, ProgressCallback, ShouldYield
from localmind.indexing.preparation import ProcessPreparer
from localmind.indexing.workspace import Workspace, find_workspace, open_workspace
from localmind.resilience import Attempted, Guarded, Resilience
from localmind.retrieval import Searcher
from localmind.retrieval.navigation import Navigator
from localmind.stores.deferred import Deferred
from localmind.stores.ports import EmbeddingCache, GraphStore, ReplicaSink, VectorStore
from localmind.stores.server_scope import ServerScope
from localmind.stores.sqlite_store import SqliteStore

# Attributes of the embedder that are plain values, read without the guard.
EMBEDDER_VALUES = (
    "model_id",
    "dimensions",
    "provider",
    "provider_reason",
    "max_tokens",
    "tokenizer",
    "variant",
    "batch_size",
)


@dataclass
class RemoteBackends:
    """The server backends the settings select (none by default), each opened on first use."""

    graph: GraphStore | None = None
    vectors: VectorStore | None = None
    cache: EmbeddingCache | None = None  # The team's embedding cache, beside the vectors in Milvus.

    @property
    def sinks(self) -> dict[str, ReplicaSink]:
        """What the outbox feeds, by the names its rows carry (both adapters take batches of files)."""
        sinks: dict[str, ReplicaSink] = {}
        if self.graph is not None:
            sinks["neo4j"] = cast(ReplicaSink, self.graph)
        if self.vectors is not None:
            sinks["milvus"] = cast(ReplicaSink, self.vectors)
        return sinks

    def close(self) -> None:
        for backend in (self.graph, self.vectors, self.cache):
            if backend is not None:
                backend.close()


@dataclass
class Readers:
    """One thread's read handles: a store connection, and the searcher and navigator over it."""

    store: SqliteStore
    searcher: Searcher
    navigator: Navigator

    def close(self) -> None:
        self.searcher.close()
        self.navigator.close()
        self.store.close()


class Components:
    """Everything one workspace's features are built from, under one set of settings.

    The embedder and the server backends are opened on first use (a model build or a server that is down
    never delays a front end that does not need them) and then shared; `close()` closes what was opened.
    """

    def __init__(self, settings: Settings, workspace: Workspace, embedder: OnnxEmbedder | None = None) -> None:
        """`embedder`, when given, is used instead of loading one (benchmarks and tests that hold one)."""
        self.settings = settings
        self.workspace = workspace
        self.resilience = Resilience(settings.resilience)
        self._embedder = embedder
        self._given_embedder = embedder
        self._model: tuple[str, int] | None = None
        self._remote: RemoteBackends | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_roots(cls, roots: list[Path], settings: Settings, embedder: OnnxEmbedder | None = None) -> Components:
        """The components of the workspace made of these root folders (created on first use)."""
        return cls(settings, open_workspace(roots, settings.indexing), embedder)

    @classmethod
    def for_indexed(cls, folder: Path, settings: Settings) -> Components:
        """The components of the indexed workspace holding `folder`; an error says to index it if there is none."""
        if not folder.exists():
            raise LocalMindError(f"no such folder: {folder}")
        workspace = find_workspace(folder, settings.indexing)
        if workspace is None or not workspace.store_path.exists():
            raise LocalMindError(f"{folder} is not in an indexed workspace; run `localmind index {folder}`")
        return cls(settings, workspace)

    # The embedder ---------------------------------------------------------------------------------------

    def embedder(self) -> OnnxEmbedder:
        """The process's embedder for these settings, unguarded; the first call may build the model."""
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings)
            return self._embedder

    def guarded_embedder(self) -> OnnxEmbedder:
        """The embedder with its calls behind the embedder's breaker. They run on the caller's thread: the
        embedder is local work that a timeout could not interrupt, and a hop to another thread would cost
        every search two more turns of the GIL while indexing runs."""
        return self._guard_embedder(self.embedder())

    def index_embedder(self) -> OnnxEmbedder:
        """A bulk session of its own for indexing (its threads spin between operators), created on the calling
        thread (whose priority its ONNX Runtime workers inherit), behind the same breaker as the query
        embedder; the embedder given at construction, when there is one."""
        chosen = self._given_embedder or load_embedder(self.settings, purpose=BULK_PURPOSE)
        return self._guard_embedder(chosen)

    def model_identity(self) -> tuple[str, int]:
        """The model id and vector width of the embedder, without loading a session when none is open; found
        once (finding the built model checks its files' digests)."""
        if self._model is None:
            loaded = self._embedder
            self._model = (loaded.model_id, loaded.dimensions) if loaded else model_identity(self.settings)
        return self._model

    def _guard_embedder(self, embedder: OnnxEmbedder) -> OnnxEmbedder:
        guard = self.resilience.guard("embedder")
        return cast(OnnxEmbedder, Attempted(embedder, guard, plain=EMBEDDER_VALUES))

    # Stores and backends ------------------------------------------------------------------------------

    @property
    def server_key(self) -> str:
        """This workspace's key on the team servers: its owner's identity and roots, or a shared name."""
        team = self.settings.team
        return ids.server_workspace_key(list(self.workspace.roots), team.identity(), team.shared_workspace)

    def server_scope(self) -> ServerScope:
        """Where the outbox replicates to, and how to reach an older key's rows to move them."""

        def open_scope(key: str) -> dict[str, ReplicaSink]:
            return _open_remote(self.settings, key, self.model_identity, None).sinks

        return ServerScope(self.server_key, self.workspace.key, open_scope)

    def remote(self) -> RemoteBackends:
        """The selected server backends behind their guards (none with the embedded defaults)."""
        with self._lock:
            if self._remote is None:
                self._remote = _open_remote(self.settings, self.server_key, self.model_identity, self.resilience)
            return self._remote

    def unguarded_remote(self) -> RemoteBackends:
        """The selected server backends without guards, for `localmind verify`: its inventory reads scan the
        whole workspace and may take longer than one request's timeout. The caller closes them."""
        return _open_remote(self.settings, self.server_key, self.model_identity, None)

    def open_store(self, journal_backends: tuple[str, ...] = ()) -> SqliteStore:
        """A new connection to the workspace's embedded store, for the calling thread only."""
        return SqliteStore(self.workspace.store_path, journal_backends=journal_backends)

    # Features -----------------------------------------------------------------------------------------

    def open_readers(self) -> Readers:
        """A store connection with a searcher and a navigator over it, for the calling thread only."""
        remote = self.remote()
        store = self.open_store()
        searcher = Searcher(store, self.guarded_embedder(), self.settings.retrieval, remote.graph, remote.vectors)
        return Readers(store, searcher, Navigator(store))

    def indexer(
        self,
        progress: ProgressCallback | None = None,
        embedder: OnnxEmbedder | None = None,
        open_files: OpenFiles | None = None,
        should_yield: ShouldYield | None = None,
        give_way: GiveWay | None = None,
        worker: ProcessPreparer | None = None,
    ) -> Indexer:
        """An indexer feeding the selected server backends; it embeds with `embedder` (by default the guarded
        bulk embedder), `open_files` first, stops embedding early when `should_yield` says so, and calls
        `give_way` between files and steps; `worker` (the caller's) parses and chunks files, when given."""
        remote = self.remote()
        embedder = embedder or self.index_embedder()
        settings = self.settings.indexing
        scope = self.server_scope() if remote.sinks else None
        return Indexer(
            self.workspace,
            settings,
            embedder,
            progress,
            remote.sinks,
            open_files,
            should_yield,
            remote.cache,
            scope,
            give_way,
            worker,
        )

    def chat(self, conversations: Conversations | None = None) -> Chat:
        """Grounded chat behind the LLM's guard, keeping its history in `conversations`."""
        guard = self.resilience.guard("llm")
        return Chat(self.settings.llm, conversations or Conversations(), guard, guard.policy.retries)

    def summarizer(self) -> Summarizer:
        """File briefings behind the LLM's guard."""
        guard = self.resilience.guard("llm")
        return Summarizer(self.settings.llm, guard, guard.policy.retries)

    # Lifetime -----------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the server backends and the guards' workers; the embedder stays cached for the process."""
        with self._lock:
            remote, self._remote = self._remote, None
        if remote is not None:
            remote.close()
        self.resilience.close()

    def __enter__(self) -> Components:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _open_remote(
    settings: Settings, server_key: str, model: Callable[[], tuple[str, int]], resilience: Resilience | None
) -> RemoteBackends:
    """Neo4j and Milvus adapters when selected, each opened on first use (so a server that is down does
    not stop indexing or search); their modules and drivers load only then. With `resilience`, every
    call (opening included) goes through the backend's guard: timeout, retries, circuit breaker.
    Credentials bound for another host in clear text are refused first (config.check_transport)."""
    check_transport(settings)
    backends = RemoteBackends()
    if settings.graph.backend == "neo4j":
        settings.graph.resolved_password()  # A missing password is a configuration error, reported now.

        def open_graph() -> GraphStore:
            from localmind.stores.neo4j_graph import Neo4jGraph

            return Neo4jGraph(settings.graph, server_key)

        backends.graph = cast(GraphStore, _guarded(Deferred("neo4j", open_graph), "neo4j", resilience))
    if settings.vectors.backend == "milvus":
        model_id, dimensions = model()  # Asked only here: the embedded defaults need no model to open.

        def open_vectors() -> VectorStore:
            from localmind.observability.logs import adopt_library_logs
            from localmind.stores.milvus_vectors import MilvusVectors

            adopt_library_logs()  # pymilvus installs stderr handlers of its own on import.
            return MilvusVectors(settings.vectors, server_key, model_id, dimensions)

        backends.vectors = cast(VectorStore, _guarded(Deferred("milvus", open_vectors), "milvus", resilience))
        if settings.team.embedding_cache:
            backends.cache = _team_cache(settings, model_id, dimensions, resilience)
    return backends


def _guarded(backend: Deferred, name: str, resilience: Resilience | None) -> Any:
    return backend if resilience is None else Guarded(backend, resilience.guard(name))


def _team_cache(settings: Settings, model_id: str, dimensions: int, resilience: Resilience | None) -> EmbeddingCache:
    """The team's embedding cache in the vectors' Milvus, behind Milvus's guard, opened on first use."""

    def open_cache() -> EmbeddingCache:
        from localmind.stores.milvus_cache import MilvusEmbeddingCache

        return MilvusEmbeddingCache(settings.vectors, model_id, dimensions, settings.team.cache_ttl_seconds())

    return cast(EmbeddingCache, _guarded(Deferred("milvus-cache", open_cache), "milvus", resilience))
