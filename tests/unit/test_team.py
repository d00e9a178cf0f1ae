"""Team settings: who the user is on the team servers, which key their workspace gets there, and when
credentials may travel in clear text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localmind.config import Settings, TeamSettings, check_transport, clear_text_credentials
from localmind.errors import ConfigError
from localmind.indexing.ids import server_workspace_key, workspace_key
from localmind.workspace_trust import split_settings

ROOTS = [Path("/workspace/project")]


def test_the_default_identity_is_the_login_name_at_this_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOGNAME", "ada")
    ada = TeamSettings().identity()
    monkeypatch.setenv("LOGNAME", "grace")
    grace = TeamSettings().identity()
    assert ada.startswith("ada@") and grace.startswith("grace@") and ada != grace
    assert TeamSettings(user="ada@laptop").identity() == "ada@laptop"


def test_two_owners_of_one_path_get_two_server_workspaces() -> None:
    ada = server_workspace_key(ROOTS, "ada@host")
    grace = server_workspace_key(ROOTS, "grace@host")
    assert ada != grace and ada == server_workspace_key(ROOTS, "ada@host")
    assert workspace_key(ROOTS) not in (ada, grace), "the key older versions used is nobody's now"
    assert len(ada) == 16 and int(ada, 16) >= 0


def test_a_shared_workspace_is_one_key_for_everyone_who_names_it() -> None:
    ada = server_workspace_key(ROOTS, "ada@host", "payments")
    grace = server_workspace_key([Path("/home/grace/payments")], "grace@other", "payments")
    assert ada == grace != server_workspace_key(ROOTS, "ada@host", "billing")


def test_a_repository_cannot_choose_the_users_identity_or_join_a_shared_workspace() -> None:
    kept, refused = split_settings({"team": {"user": "victim@host", "shared_workspace": "loot"}})
    assert kept == {} and sorted(refused) == ["team.shared_workspace", "team.user"]


@pytest.mark.parametrize(
    ("uri", "refused"),
    [
        ("bolt://neo4j.internal:7687", True),
        ("neo4j://10.0.0.5:7687", True),
        ("bolt+s://neo4j.internal:7687", False),
        ("neo4j+ssc://neo4j.internal:7687", False),
        ("bolt://127.0.0.1:7687", False),
        ("bolt://127.0.0.2:7687", False),
        ("bolt://localhost:7687", False),
        ("bolt://[::1]:7687", False),
    ],
)
def test_a_neo4j_password_never_crosses_the_network_in_clear_text(uri: str, refused: bool) -> None:
    settings = Settings(graph={"backend": "neo4j", "uri": uri, "password": "s3cret-pass"})
    assert bool(clear_text_credentials(settings)) == refused
    if refused:
        with pytest.raises(ConfigError, match="allow_insecure_transport") as caught:
            check_transport(settings)
        assert "s3cret-pass" not in str(caught.value)
        check_transport(Settings(graph=settings.graph, team={"allow_insecure_transport": True}))
    else:
        check_transport(settings)


def test_a_milvus_token_is_refused_over_http_to_another_host_but_not_without_one() -> None:
    remote = {"backend": "milvus", "uri": "http://milvus.internal:19530"}
    with pytest.raises(ConfigError, match=re.escape("vectors.uri = http://milvus.internal:19530")):
        check_transport(Settings(vectors={**remote, "token": "root:Milvus"}))
    check_transport(Settings(vectors=remote))
    check_transport(Settings(vectors={**remote, "uri": "https://milvus.internal:19530", "token": "root:Milvus"}))
    check_transport(Settings(vectors={**remote, "uri": "/tmp/vectors.db", "token": "root:Milvus"}))


def test_user_information_in_a_uri_stays_out_of_the_message() -> None:
    settings = Settings(vectors={"backend": "milvus", "uri": "http://root:hunter2@milvus.lan:19530", "token": "t"})
    message = "; ".join(clear_text_credentials(settings))
    assert "milvus.lan" in message and "hunter2" not in message
