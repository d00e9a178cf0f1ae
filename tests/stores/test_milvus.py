"""What only the Milvus adapter has: its collection and schema, secrets kept out of sight, settings that
reach every call, clear errors when Milvus is away, and Milvus Lite's one-process lock. The answers it
gives are the contract's (test_vector_contract.py)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from localmind.config import VectorSettings
from localmind.errors import ConfigError
from localmind.stores import milvus_vectors
from localmind.stores.milvus_vectors import (
    InvalidIdError,
    MilvusCollection,
    MilvusVectors,
    VectorStoreError,
    collection_name,
)
from localmind.stores.records import FileUpdate
from tests.stores.milvus_fixtures import (
    SESSION_PREFIX,
    MilvusEndpoint,
    connection_waits,
    lite_settings,
    milvus_lite_file,
    milvus_server,
)
from tests.stores.test_vector_contract import (
    DIMENSIONS,
    MODEL,
    assert_same_ranking,
    brute_force,
    inventory_of,
    make_corpus,
    make_update,
    new_workspace,
    unit_rows,
)

__all__ = ["milvus_lite_file", "milvus_server"]  # Fixtures, used by name.

TOKEN = "root:Milvus-s3cret-token-4217"
REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A port nothing listens on (bound a moment ago, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def down_settings(**overrides: object) -> VectorSettings:
    values: dict[str, object] = {"backend": "milvus", "uri": f"http://127.0.0.1:{closed_port()}", "timeout": 1.0}
    values.update(overrides)
    return VectorSettings.model_validate(values)


@contextmanager
def every_log_line() -> Iterator[io.StringIO]:
    """Everything logged at any level: the root logger's and pymilvus's (which does not propagate)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    loggers = [logging.getLogger(name) for name in ("", "pymilvus", "milvus_lite", "localmind")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_collection_names_come_from_prefix_model_and_dimension() -> None:
    name = collection_name("localmind", "sentence-transformers/all-MiniLM-L6-v2:fp32", 384)
    assert re.fullmatch(r"localmind_sentence_transformers_all_minilm_l6_v2_fp32_[0-9a-f]{8}_384", name)
    assert collection_name("localmind", "model-a", 384) != collection_name("localmind", "model_a", 384)
    assert collection_name("localmind", "model-a", 384) != collection_name("localmind", "model-a", 768)
    assert re.fullmatch(r"p_model_[0-9a-f]{8}_8", collection_name("p", "é/é", 8))


def test_server_collection_schema_and_index(milvus_server: MilvusEndpoint) -> None:
    store = MilvusVectors(milvus_server.settings(), new_workspace(), MODEL, DIMENSIONS)
    try:
        client = store._client
        fields = {f["name"]: f for f in client.describe_collection(store.collection)["fields"]}
        assert set(fields) == {"id", "workspace", "file_id", "vector"}
        assert fields["id"].get("is_primary") and fields["id"]["params"]["max_length"] == 64
        assert fields["workspace"].get("is_partition_key")
        assert fields["vector"]["params"]["dim"] == DIMENSIONS
        index = client.describe_index(store.collection, index_name=client.list_indexes(store.collection)[0])
        assert (index["index_type"], index["metric_type"]) == ("FLAT", "IP")
    finally:
        store.close()


def test_the_token_never_shows_in_repr_errors_or_logs(milvus_server: MilvusEndpoint) -> None:
    # The test server does not check tokens; a server with authentication would receive this one.
    settings = milvus_server.settings(token=SecretStr(TOKEN))
    with every_log_line() as logs:
        store = MilvusVectors(settings, new_workspace(), MODEL, DIMENSIONS)
        corpus = make_corpus("0123456789abcdef")
        store.write_file(corpus[0])
        assert store.search(corpus[0].vectors[0], 3)
        shown = [repr(store), str(store), repr(settings), repr(store.__dict__)]
        store.close()
        with pytest.raises(VectorStoreError) as refused:
            MilvusVectors(down_settings(token=SecretStr(TOKEN)), new_workspace(), MODEL, DIMENSIONS)
        with pytest.raises(VectorStoreError) as refused_userinfo:
            url = f"http://admin:{TOKEN}@127.0.0.1:{closed_port()}"
            MilvusVectors(down_settings(uri=url), new_workspace(), MODEL, DIMENSIONS)
    for text in [*shown, str(refused.value), str(refused_userinfo.value), logs.getvalue()]:
        assert TOKEN not in text and "s3cret" not in text


def test_consistency_level_and_timeout_reach_every_call(milvus_server: MilvusEndpoint) -> None:
    prefix = f"{SESSION_PREFIX}_bounded"
    settings = milvus_server.settings(consistency_level="Bounded", timeout=7.5, collection_prefix=prefix)
    store = MilvusVectors(settings, new_workspace(), MODEL, DIMENSIONS)
    try:
        # The collection's own default, for clients that name none; Bounded is 2 in Milvus's enumeration.
        assert store._client.describe_collection(store.collection)["consistency_level"] == 2
        calls = spy_on(store)
        corpus = make_corpus("0123456789abcdef")
        store.write_file(corpus[1])
        store.search(corpus[1].vectors[0], 2)
        store.search(corpus[1].vectors[0], 2, {corpus[1].file.id})
        store.file_centroid(corpus[1].file.id)
        store.file_inventory()
        store.delete_file(corpus[1].file.id)
    finally:
        store.close()
    assert {name for name, _ in calls} == {"insert", "delete", "search", "query"}
    # Rounded up: pymilvus bounds its retries by the timeout only when that is a whole number of seconds.
    assert all(kwargs["timeout"] == 8 for _, kwargs in calls)
    reads = [kwargs for name, kwargs in calls if name in ("search", "query")]
    assert reads and all(kwargs["consistency_level"] == "Bounded" for kwargs in reads)


DATA_CALLS = ("insert", "upsert", "delete", "search", "query")


def spy_on(store: MilvusCollection) -> list[tuple[str, dict[str, Any]]]:
    """Record the keyword arguments of every data call the store makes from now on."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for name in DATA_CALLS:
        original = getattr(store._client, name)
        setattr(store._client, name, recording(name, original, calls))
    return calls


def recording(name: str, method: Callable[..., Any], calls: list[tuple[str, dict[str, Any]]]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        calls.append((name, kwargs))
        return method(*args, **kwargs)

    return call


def test_a_server_that_is_down_is_named_in_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = down_settings()
    waits = connection_waits(monkeypatch)
    with pytest.raises(VectorStoreError) as refused:
        MilvusVectors(settings, new_workspace(), MODEL, DIMENSIONS)
    message = str(refused.value)
    assert "vectors.uri" in message and settings.uri in message and "running" in message
    assert waits == [settings.timeout], "one wait for the connection, as long as vectors.timeout (not 10 s)"


def test_a_server_that_goes_away_fails_calls_at_the_configured_timeout(milvus_server: MilvusEndpoint) -> None:
    """pymilvus retries a call that cannot reach the server until its timeout runs out, when that is a whole
    number of seconds, and otherwise 75 times (minutes): the error says which of the two ended the call."""
    workspace, port = new_workspace(), int(milvus_server.uri.rsplit(":", 1)[1])
    MilvusVectors(milvus_server.settings(), workspace, MODEL, DIMENSIONS).close()  # The collection is ready.
    with TcpRelay(port) as relay:
        settings = milvus_server.settings(uri=f"http://127.0.0.1:{relay.port}", timeout=1.0)
        store = MilvusVectors(settings, workspace, MODEL, DIMENSIONS)
        corpus = make_corpus("0123456789abcdef")
        store.write_file(corpus[0])
        relay.close()  # The server is out of reach from now on.
        for call in (lambda: store.search(corpus[0].vectors[0], 3), lambda: store.write_file(corpus[1])):
            with pytest.raises(VectorStoreError, match=r"vectors\.uri") as failed:
                call()
            # Ended by vectors.timeout (rounded up to whole seconds): pymilvus's own retry timeout, or the
            # deadline gRPC was given.
            assert re.search(r"Retry timeout: 1s|DEADLINE_EXCEEDED", str(failed.value)), failed.value
        store.close()


class TcpRelay:
    """Relays 127.0.0.1:port to a target port until closed: a network path to take away mid-session."""

    def __init__(self, target: int) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> TcpRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for sock in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self._target))
                self._sockets += [client, upstream]
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)


def test_ids_that_are_not_local_mind_ids_are_refused_before_any_call(tmp_path: Path) -> None:
    with pytest.raises(InvalidIdError):
        MilvusVectors(down_settings(), 'ab" or "1" == "1', MODEL, DIMENSIONS)
    store = MilvusVectors(lite_settings(tmp_path / "ids.db"), new_workspace(), MODEL, DIMENSIONS)
    try:
        calls = spy_on(store)
        with pytest.raises(InvalidIdError):
            store.delete_file('" or 1==1 or "')
        assert store.search(np.ones(DIMENSIONS, np.float32), 3, {'" or 1==1 or "'}) == []
        assert store.file_centroid("\\") is None
        # A batch with one bad id is refused whole, before its first call.
        good, hostile = make_corpus("0123456789abcdef")[:2]
        hostile = make_update("0123456789abcdef", "evil.md", hostile.vectors, file_id='" or 1==1 or "')
        with pytest.raises(InvalidIdError):
            store.write_files([good, hostile])
        with pytest.raises(InvalidIdError):
            store.delete_files([good.file.id, '") or file_id != ("'])
        with pytest.raises(TypeError):
            store.delete_files(good.file.id)
        assert calls == []
    finally:
        store.close()


def test_a_uri_that_is_neither_a_server_nor_a_lite_file_names_the_setting() -> None:
    settings = VectorSettings.model_validate({"backend": "milvus", "uri": "/var/lib/vectors.sqlite"})
    with pytest.raises(ConfigError, match=r"vectors\.uri"):
        MilvusVectors(settings, new_workspace(), MODEL, DIMENSIONS)


def test_updates_of_another_shape_or_model_are_refused(tmp_path: Path) -> None:
    store = MilvusVectors(lite_settings(tmp_path / "shape.db"), new_workspace(), MODEL, DIMENSIONS)
    try:
        update = make_corpus("0123456789abcdef")[2]
        update.vectors = update.vectors[:, :8]
        with pytest.raises(VectorStoreError, match="dimensions"):
            store.write_file(update)
        update.model_id = "another-model:int8"
        with pytest.raises(VectorStoreError, match="another-model"):
            store.write_file(update)
        with pytest.raises(ValueError, match="dimensions"):
            store.search(np.ones(8, np.float32), 3)
        assert store.file_inventory() == {}
    finally:
        store.close()


LITE_OPENER = textwrap.dedent(
    """
    import sys
    from localmind.config import VectorSettings
    from localmind.stores.milvus_vectors import MilvusVectors, VectorStoreError
    settings = VectorSettings(backend="milvus", uri=sys.argv[1])
    try:
        MilvusVectors(settings, "00000000000000aa", "contract-test:fp32", 32).close()
    except VectorStoreError as exc:
        print(exc)
        sys.exit(3)
    """
)


def test_a_lite_file_serves_one_process_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = MilvusVectors(lite_settings(path), new_workspace(), MODEL, DIMENSIONS)
    try:
        held = open_from_another_process(path)
    finally:
        store.close()
    assert held.returncode == 3, held.stderr
    assert "vectors.uri" in held.stdout and "one process" in held.stdout
    freed = open_from_another_process(path)
    assert freed.returncode == 0, freed.stdout + freed.stderr


def open_from_another_process(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", LITE_OPENER, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO, check=False)


def test_two_stores_on_one_lite_file_share_its_server(tmp_path: Path) -> None:
    settings = lite_settings(tmp_path / "shared.db")
    first, second = (MilvusVectors(settings, uuid.uuid4().hex[:16], MODEL, DIMENSIONS) for _ in range(2))
    corpus = make_corpus("0123456789abcdef")
    first.write_file(corpus[0])
    first.close()  # The second store's connection and the file's Lite server stay open.
    second.write_file(corpus[1])
    assert second.file_inventory() == {corpus[1].file.id: {c.id for c in corpus[1].chunks}}
    second.close()


# Primary keys, batches and reads ---------------------------------------------------------------------

OpenVectors = Callable[[str], MilvusVectors]


@pytest.fixture(params=["milvus-lite", "milvus-server"])
def open_vectors(request: pytest.FixtureRequest) -> Iterator[OpenVectors]:
    """Opens MilvusVectors for a workspace on a Milvus Lite file or the test server; closes them all."""
    opened: list[MilvusVectors] = []

    def open_for(workspace: str) -> MilvusVectors:
        if request.param == "milvus-lite":
            settings = lite_settings(request.getfixturevalue("milvus_lite_file"))
        else:
            settings = request.getfixturevalue("milvus_server").settings()
        opened.append(MilvusVectors(settings, workspace, MODEL, DIMENSIONS))
        return opened[-1]

    yield open_for
    for store in opened:
        store.close()


def same_file_elsewhere(seed: int, chunks: int = 4) -> FileUpdate:
    """A file whose file and chunk ids are those of the same path and texts in any workspace."""
    return make_update("same-checkout", "notes/same.md", unit_rows(np.random.default_rng(seed), chunks))


def assert_holds_only(store: MilvusVectors, update: FileUpdate) -> None:
    assert store.file_inventory() == inventory_of([update])
    for query in update.vectors:
        assert_same_ranking(store.search(query, 10), brute_force([update], query, 10))


def test_workspaces_with_identical_ids_keep_their_own_rows(open_vectors: OpenVectors) -> None:
    mine, theirs = open_vectors(new_workspace()), open_vectors(new_workspace())
    my_file, their_file = same_file_elsewhere(seed=1), same_file_elsewhere(seed=2)
    assert my_file.file.id == their_file.file.id
    assert [c.id for c in my_file.chunks] == [c.id for c in their_file.chunks]
    mine.write_file(my_file)
    theirs.write_file(their_file)
    assert_holds_only(mine, my_file)
    assert_holds_only(theirs, their_file)
    # Rewriting a file (its delete by filter, then its inserts) leaves the other workspace's rows alone.
    mine.write_file(my_file)
    edited = same_file_elsewhere(seed=3, chunks=2)
    mine.write_file(edited)
    assert_holds_only(mine, edited)
    assert_holds_only(theirs, their_file)
    mine.delete_file(edited.file.id)
    assert mine.file_inventory() == {}
    assert_holds_only(theirs, their_file)


def test_row_keys_are_the_workspace_key_then_the_chunk_id(milvus_server: MilvusEndpoint) -> None:
    workspace = new_workspace()
    store = MilvusVectors(milvus_server.settings(), workspace, MODEL, DIMENSIONS)
    try:
        update = make_corpus(workspace)[2]
        store.write_file(update)
        assert set(stored_keys(store, f'workspace == "{workspace}"')) == {workspace + c.id for c in update.chunks}
        too_long = make_update(workspace, "long.md", update.vectors[:1])
        too_long.chunks[0] = replace(too_long.chunks[0], id="f" * 64)
        with pytest.raises(InvalidIdError, match="64"):
            store.write_file(too_long)
    finally:
        store.close()


def test_rows_with_bare_chunk_ids_stay_readable_and_are_deleted(open_vectors: OpenVectors) -> None:
    """Rows written before keys carried the workspace key: answered as they are, removed by file."""
    workspace = new_workspace()
    store = open_vectors(workspace)
    kept, rewritten = make_corpus(workspace)[1:3]
    for update in (kept, rewritten):
        store._client.insert(store.collection, data=bare_rows(workspace, update))
    assert store.file_inventory() == inventory_of([kept, rewritten])
    query = kept.vectors[0]
    assert_same_ranking(store.search(query, 10), brute_force([kept, rewritten], query, 10))
    store.write_file(rewritten)  # Its bare rows go, its prefixed rows come.
    assert store.file_inventory() == inventory_of([kept, rewritten])
    keys = stored_keys(store, f'file_id == "{rewritten.file.id}"')
    assert sorted(keys) == sorted(workspace + chunk.id for chunk in rewritten.chunks)
    store.delete_files([kept.file.id, rewritten.file.id])
    assert store.file_inventory() == {}


def stored_keys(store: MilvusVectors, expression: str) -> list[str]:
    """The primary keys of the rows that match, as stored (a test's own expression, of test values)."""
    rows = store._client.query(store.collection, filter=expression, output_fields=["id"], consistency_level="Strong")
    return [str(row["id"]) for row in rows]


def bare_rows(workspace: str, update: FileUpdate) -> list[dict[str, Any]]:
    return [
        {"id": chunk.id, "workspace": workspace, "file_id": update.file.id, "vector": vector}
        for chunk, vector in zip(update.chunks, update.vectors, strict=True)
    ]


def test_write_files_deletes_once_and_inserts_in_batches(
    open_vectors: OpenVectors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(milvus_vectors, "_INSERT_BATCH", 4)
    workspace = new_workspace()
    store, corpus = open_vectors(workspace), make_corpus(workspace)
    edited = make_update(workspace, corpus[3].file.rel_path, unit_rows(np.random.default_rng(5), 2))
    calls = spy_on(store)
    store.write_files([*corpus, edited])  # File 3 twice: the last update wins.
    latest = [*corpus[:3], edited, *corpus[4:]]
    inserted = [len(kwargs["data"]) for name, kwargs in calls if name == "insert"]
    assert [name for name, _ in calls].count("delete") == 1
    assert sum(inserted) == sum(len(u.chunks) for u in latest) and max(inserted) == 4
    assert store.file_inventory() == inventory_of(latest)
    query = corpus[0].vectors[0]
    assert_same_ranking(store.search(query, 40), brute_force(latest, query, 40))
    calls.clear()
    store.write_files([])
    assert calls == []


def test_delete_files_removes_a_batch_in_filters_of_bounded_length(
    open_vectors: OpenVectors, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = new_workspace()
    store, corpus = open_vectors(workspace), make_corpus(workspace)
    store.write_files(corpus)
    calls = spy_on(store)
    unknown = [uuid.uuid4().hex[:24] for _ in range(1500)]
    store.delete_files([corpus[0].file.id, *unknown])  # 1501 files: two filters of at most 1000.
    assert [name for name, _ in calls] == ["delete", "delete"]
    assert store.file_inventory() == inventory_of(corpus[1:])
    monkeypatch.setattr(milvus_vectors, "_FILTER_BATCH", 2)
    calls.clear()
    store.delete_files([u.file.id for u in corpus[1:]])
    assert [name for name, _ in calls] == ["delete"] * 3
    assert store.file_inventory() == {}


def test_file_inventory_reads_with_the_consistency_asked_for(milvus_server: MilvusEndpoint) -> None:
    settings = milvus_server.settings(consistency_level="Bounded", collection_prefix=f"{SESSION_PREFIX}_bounded")
    store = MilvusVectors(settings, new_workspace(), MODEL, DIMENSIONS)
    try:
        update = make_corpus("0123456789abcdef")[1]
        store.write_file(update)
        calls = spy_on(store)
        assert store.file_inventory(consistency="Strong") == inventory_of([update])
        store.file_inventory()
        with pytest.raises(ValueError, match="consistency"):
            store.file_inventory(consistency="Sometimes")
    finally:
        store.close()
    assert [kwargs["consistency_level"] for _, kwargs in calls] == ["Strong", "Bounded"]
