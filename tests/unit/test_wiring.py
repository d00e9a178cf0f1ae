"""The composition root: every front end (command line, language server, benchmarks) gets the same guarded
objects from `wiring.Components`, and none assembles its own."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from localmind import cli, wiring
from localmind.config import Settings
from localmind.embeddings import OnnxEmbedder
from localmind.resilience import Attempted, Guarded
from localmind.service import WorkspaceService
from localmind.stores.deferred import Deferred
from localmind.wiring import Components

FIXTURE_WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspace"
SERVER = Path(__file__).parents[2] / "server" / "localmind"
BENCH = Path(__file__).parents[2] / "bench"


def settings_for(tmp_path: Path, model_cache: Path, **sections: Any) -> Settings:
    return Settings.model_validate(
        {"indexing": {"data_dir": str(tmp_path / "data")}, "embeddings": {"cache_dir": str(model_cache)}, **sections}
    )


# Server backends selected but never reached: they open on first use, so building the objects needs no server.
REMOTE = {
    "graph": {"backend": "neo4j", "uri": "bolt://127.0.0.1:9", "password": "not-a-real-password"},
    "vectors": {"backend": "milvus", "uri": "http://127.0.0.1:9"},
}


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    shutil.copytree(FIXTURE_WORKSPACE, folder)
    return folder


def test_searcher_navigator_and_indexer_share_one_set_of_guarded_backends(
    tmp_path: Path, root: Path, model_cache: Path, fp32: OnnxEmbedder
) -> None:
    with Components.for_roots([root], settings_for(tmp_path, model_cache, **REMOTE), fp32) as components:
        remote = components.remote()
        assert isinstance(remote.graph, Guarded) and isinstance(remote.vectors, Guarded)
        assert remote.graph._guard is components.resilience.guard("neo4j")
        assert remote.vectors._guard is components.resilience.guard("milvus")
        assert isinstance(remote.graph._target, Deferred)  # Nothing was opened yet.
        readers = components.open_readers()
        try:
            assert readers.searcher.graph is remote.graph and readers.searcher.vectors is remote.vectors
            assert isinstance(readers.searcher.embedder, Attempted)
            assert readers.searcher.embedder._guard is components.resilience.guard("embedder")
            assert readers.navigator.store is readers.store and readers.searcher.store is readers.store
        finally:
            readers.close()
        indexer = components.indexer()
        assert indexer.sinks == {"neo4j": remote.graph, "milvus": remote.vectors}
        assert indexer.embedder._guard is components.resilience.guard("embedder")  # type: ignore[attr-defined]


def test_the_embedded_defaults_select_no_server_backend(
    tmp_path: Path, root: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without servers nothing asks for the model (finding it checks its files' digests); with Milvus, once."""
    asked: list[object] = []
    monkeypatch.setattr(wiring, "model_identity", lambda settings: asked.append(settings) or ("model:int8", 384))
    with Components.for_roots([root], settings_for(tmp_path, model_cache)) as components:
        assert components.remote().sinks == {}
        assert components.remote() is components.remote()
        assert asked == []
    with Components.for_roots([root], settings_for(tmp_path, model_cache, **REMOTE)) as components:
        components.remote()
        components.unguarded_remote()
        components.server_scope().open_scope(components.server_key)
        assert len(asked) == 1


SPINNING = "session.intra_op.allow_spinning"


def spinning(embedder: OnnxEmbedder) -> str:
    target = getattr(embedder, "_target", embedder)  # The guard's Attempted proxy holds the embedder.
    return str(target._session.get_session_options().get_session_config_entry(SPINNING))


def test_indexing_embeds_on_a_bulk_session_and_queries_on_one_that_sleeps(
    tmp_path: Path, root: Path, model_cache: Path
) -> None:
    """The indexer's session spins between operators (throughput); the query session's threads sleep, so they
    leave the cores to the editor. Opening the server backends needs only the model's id, not a session."""
    with Components.for_roots([root], settings_for(tmp_path, model_cache, **REMOTE)) as components:
        indexer = components.indexer()
        assert components._embedder is None, "no query session was opened for indexing"
        assert spinning(indexer.embedder) == "1"
        assert components.model_identity() == (indexer.embedder.model_id, indexer.embedder.dimensions)
        assert spinning(components.guarded_embedder()) == "0"


def test_chat_and_summarizer_use_the_llm_guard(tmp_path: Path, root: Path, model_cache: Path) -> None:
    settings = settings_for(tmp_path, model_cache, resilience={"llm": {"retries": 2}})
    with Components.for_roots([root], settings) as components:
        guard = components.resilience.guard("llm")
        for user in (components.chat(), components.summarizer()):
            assert user.guard is guard and user.retries == 2


def test_the_language_server_service_asks_its_components(
    tmp_path: Path, root: Path, model_cache: Path, fp32: OnnxEmbedder
) -> None:
    settings = settings_for(tmp_path, model_cache, **REMOTE)
    components = Components.for_roots([root], settings, fp32)
    service = WorkspaceService([root], settings, components)
    try:
        assert service.resilience is components.resilience
        searcher = service.read(lambda readers: readers.searcher).result()
        assert searcher.graph is components.remote().graph and searcher.vectors is components.remote().vectors
        assert service.chat().guard is components.resilience.guard("llm")
        assert service.chat().conversations is service.conversations
    finally:
        service.close()


def test_the_command_line_asks_the_composition_root(
    tmp_path: Path, root: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Components] = []
    original = Components.__init__

    def recording(self: Components, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(Components, "__init__", recording)
    data = ["--workspace", str(root)]
    monkeypatch.setenv("LOCALMIND_INDEXING__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOCALMIND_EMBEDDINGS__CACHE_DIR", str(model_cache))
    assert cli.main(["index", str(root), "--json"]) == 0
    assert cli.main(["search", "load the configuration file", *data, "--json"]) == 0
    assert len(built) == 2 and built[0].workspace.key == built[1].workspace.key


# What only the composition root may construct, and the files allowed to.
CONSTRUCTED_ONLY_IN_WIRING = ("Resilience(", "Searcher(", "Navigator(", "Indexer(", "Chat(", "Summarizer(")
ALLOWED = {"wiring.py", "resilience/__init__.py", "retrieval/searcher.py", "retrieval/navigation.py"}


def test_no_front_end_builds_what_the_composition_root_builds() -> None:
    offenders = []
    for path in [*SERVER.rglob("*.py"), *BENCH.glob("*.py")]:
        name = path.relative_to(SERVER).as_posix() if path.is_relative_to(SERVER) else path.name
        if name in ALLOWED or name.startswith(("chat/", "indexing/pipeline")):
            continue
        text = path.read_text(encoding="utf-8")
        for call in CONSTRUCTED_ONLY_IN_WIRING:
            if re.search(rf"(?<![\w.]){re.escape(call)}", text):
                offenders.append(f"{name}: {call}")
    assert not offenders, offenders
