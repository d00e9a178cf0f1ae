"""The team servers shared by two users, against the real Neo4j and Milvus of the test suite: identities
whose checkouts sit at the same path stay apart through index, search, delete and `verify --repair`; a
teammate's copy of a workspace takes its vectors from the team cache; an upgraded store moves its rows
from the key older versions used to its owner's."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from localmind.config import load_settings
from localmind.embeddings import OnnxEmbedder
from localmind.indexing.workspace import find_workspace
from localmind.stores.server_scope import SCOPE_KEY
from localmind.stores.sqlite_store import SqliteStore
from localmind.wiring import Components
from tests.stores.conftest import Neo4jEndpoint
from tests.stores.milvus_fixtures import MilvusEndpoint, milvus_server  # noqa: F401 - a fixture.
from tests.stores.test_backends_e2e import FIXTURE_WORKSPACE, backend_env, localmind, plain_env

pytestmark = pytest.mark.slow
RUN = uuid.uuid4().hex[:8]  # Collections of this run's own, should the server outlive it.


def user(
    tmp: Path, name: str, model_cache: Path, neo4j: Neo4jEndpoint, milvus: MilvusEndpoint, prefix: str
) -> dict[str, str]:
    """One user's environment; users given the same prefix share the Milvus collections (a team)."""
    env = backend_env(plain_env(tmp, name, model_cache), neo4j, milvus)
    env["LOCALMIND_TEAM__USER"] = f"{name}@test"
    env["LOCALMIND_VECTORS__COLLECTION_PREFIX"] = prefix
    return env


def verify(env: dict[str, str], root: Path, *extra: str) -> dict[str, Any]:
    done = localmind(["verify", "--json", *extra], env, root, check=False)
    report: dict[str, Any] = json.loads(done.stdout)
    report["exit"] = done.returncode
    return report


def clean(report: dict[str, Any]) -> bool:
    return report["exit"] == 0 and all(report[name]["clean"] for name in ("neo4j", "milvus", "team_cache"))


def search_paths(env: dict[str, str], root: Path, query: str) -> list[str]:
    hits = json.loads(localmind(["search", query, "--json", "-k", "5", "--signals", "dense"], env, root).stdout)
    return [hit["path"] for hit in hits]


def components_of(env: dict[str, str], root: Path, monkeypatch: pytest.MonkeyPatch) -> Components:
    """The user's components in this process, from the same environment the user's commands get."""
    for name, value in env.items():
        if name.startswith("LOCALMIND_"):
            monkeypatch.setenv(name, value)
    settings = load_settings(user_config=Path(env["XDG_CONFIG_HOME"]) / "none.toml")
    workspace = find_workspace(root, settings.indexing)
    assert workspace is not None
    return Components(settings, workspace)


def test_two_identities_at_one_path_stay_apart(
    tmp_path: Path,
    model_cache: Path,
    fp32: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
) -> None:
    root = (tmp_path / "workspace").resolve()  # One path, two users' content in turn (a dev container).
    ada = user(tmp_path, "ada", model_cache, neo4j_server, milvus_server, f"iso_{RUN}")
    grace = user(tmp_path, "grace", model_cache, neo4j_server, milvus_server, f"iso_{RUN}")
    shutil.copytree(FIXTURE_WORKSPACE, root)
    (root / "notes" / "ada.md").write_text("# Ada's ledger\n\nThe difference engine tabulates polynomials.\n")
    localmind(["index", str(root)], ada, root)
    (root / "notes" / "ada.md").unlink()
    (root / "notes" / "grace.md").write_text("# Grace's compiler\n\nA-0 translates symbolic code for UNIVAC.\n")
    (root / "src" / "utils.py").unlink()  # Grace deleted a file Ada still has.
    localmind(["index", str(root)], grace, root)

    assert clean(verify(ada, root)) and clean(verify(grace, root))
    assert "notes/ada.md" not in search_paths(grace, root, "difference engine polynomials")
    # Ada's store still holds utils.py and ada.md: her server rows must too, whatever Grace did.
    ada_files = verify(ada, root)["neo4j"]["files"]
    assert ada_files == verify(grace, root)["neo4j"]["files"] + 1  # +ada.md +utils.py −grace.md

    repaired = verify(grace, root, "--repair")
    assert clean(repaired) and repaired["neo4j"]["fixed"] == {}, "nothing of Ada's looked like Grace's drift"
    assert clean(verify(ada, root)), "Grace's repair touched none of Ada's rows"


def test_a_teammates_copy_takes_its_vectors_from_the_team_cache(
    tmp_path: Path,
    model_cache: Path,
    fp32: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
) -> None:
    ada_root, grace_root = (tmp_path / "ada" / "ws").resolve(), (tmp_path / "grace" / "src" / "ws").resolve()
    shutil.copytree(FIXTURE_WORKSPACE, ada_root)
    shutil.copytree(FIXTURE_WORKSPACE, grace_root)
    changed = grace_root / "notes" / "architecture.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nGrace's addendum on retry budgets.\n")
    ada = user(tmp_path, "ada", model_cache, neo4j_server, milvus_server, f"team_{RUN}")
    grace = user(tmp_path, "grace", model_cache, neo4j_server, milvus_server, f"team_{RUN}")
    first = json.loads(localmind(["index", "--json", str(ada_root)], ada, ada_root).stdout.splitlines()[-1])
    second = json.loads(localmind(["index", "--json", str(grace_root)], grace, grace_root).stdout.splitlines()[-1])
    assert first["chunks_embedded"] > 10 and first["chunks_from_team"] == 0
    assert 1 <= second["chunks_embedded"] <= 3, second
    assert second["chunks_from_team"] >= first["chunks_embedded"] - 3, second
    assert clean(verify(grace, grace_root))
    for query in ("where is parse_config defined", "how does the server start"):
        ours = [path for path in search_paths(ada, ada_root, query) if path != "notes/architecture.md"]
        theirs = [path for path in search_paths(grace, grace_root, query) if path != "notes/architecture.md"]
        assert ours[: len(theirs)] == theirs[: len(ours)], "unchanged files answer alike"


def test_an_upgraded_store_moves_its_rows_to_its_owner(
    tmp_path: Path,
    model_cache: Path,
    fp32: OnnxEmbedder,
    neo4j_server: Neo4jEndpoint,
    milvus_server: MilvusEndpoint,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = (tmp_path / "ws").resolve()
    shutil.copytree(FIXTURE_WORKSPACE, root)
    env = user(tmp_path, "ada", model_cache, neo4j_server, milvus_server, f"upgrade_{RUN}")
    localmind(["index", str(root)], env, root)
    with components_of(env, root, monkeypatch) as components:
        legacy = components.server_scope().open_scope(components.workspace.key)  # What older versions wrote.
        store = SqliteStore(components.workspace.store_path)
        updates = [u for u in map(store.load_update, store.file_ids()) if u is not None]
        for sink in legacy.values():
            sink.write_files(updates)
        inventory = store.manifest_inventory()
        assert legacy["neo4j"].file_inventory() == inventory  # type: ignore[attr-defined]
        store.set_meta(SCOPE_KEY, "")  # As a store from before identities has it: no key recorded.
        store.close()
        for sink in legacy.values():
            sink.close()  # type: ignore[attr-defined]
    localmind(["index", str(root)], env, root)
    assert clean(verify(env, root))
    with components_of(env, root, monkeypatch) as components:
        legacy = components.server_scope().open_scope(components.workspace.key)
        try:
            assert legacy["neo4j"].file_inventory() == {}  # type: ignore[attr-defined]
            assert legacy["milvus"].file_inventory(consistency="Strong") == {}  # type: ignore[attr-defined]
        finally:
            for sink in legacy.values():
                sink.close()  # type: ignore[attr-defined]
