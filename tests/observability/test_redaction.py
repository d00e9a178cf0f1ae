"""Every redaction rule, and the innocent keys and texts each must leave alone."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from localmind.observability.redaction import MASK, is_secret_key, key_words, redact_text, redact_value

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5" * 4
AWS_KEY_ID = "AKIA" + "ABCDEFGHIJKLMNOP"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_password",
        "dbPassword",
        "DB-PASSWORD",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "client_secret",
        "clientSecret",
        "token",
        "access_token",
        "authToken",
        "X-Auth-Token",
        "refresh-token",
        "auth",
        "Authorization",
        "Proxy-Authorization",
        "credential",
        "credentials",
        "aws_credentials",
        "api_key",
        "apiKey",
        "APIKey",
        "apikey",
        "X-Api-Key",
        "OPENAI_API_KEY",
        "private_key",
        "privateKey",
        "access_key",
        "aws_secret_access_key",
        "secret_key",
        "session",
        "sessionToken",
        "cookie",
        "Set-Cookie",
        "cookies",
        "password2",
        "graph.password",
        "LOCALMIND_GRAPH__PASSWORD",
        "oauth2Token",
    ],
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)
    assert redact_value({key: "s3cr3t-value"}) == {key: MASK}


@pytest.mark.parametrize(
    "key",
    [
        "token_count",
        "max_tokens",
        "tokens",
        "context_tokens",
        "tokenizer",
        "tokenizer_path",
        "first_token_timeout",
        "password_file",
        "passwordFile",
        "secret_files",
        "skip_secret_files",
        "redact_secrets_count",
        "secrets_redacted",
        "api_key_env",
        "access_key_id",
        "token_type",
        "auth_url",
        "authType",
        "oauth",
        "author",
        "authority",
        "cookie_domain",
        "session_count",
        "bypass",
        "compass",
        "keyboard",
        "key",
        "monkey",
        "chunk_tokens",
        "",
    ],
)
def test_innocent_keys_are_kept(key: str) -> None:
    assert not is_secret_key(key)
    assert redact_value({key: 512}) == {key: 512}
    assert redact_value({key: "plain words"}) == {key: "plain words"}


def test_keys_split_into_words() -> None:
    assert key_words("dbPassword") == ["db", "password"]
    assert key_words("APIKey") == ["api", "key"]
    assert key_words("x-api-key") == ["x", "api", "key"]
    assert key_words("OPENAI_API_KEY") == ["openai", "api", "key"]
    assert key_words("token2") == ["token"]
    assert key_words("graph.password_file") == ["graph", "password", "file"]


def test_nested_values_lists_and_header_pairs() -> None:
    value = {
        "llm": {"api_key": "sk-abc", "max_tokens": 512, "base_url": "http://user:pw123@llm.local/v1"},
        "headers": [("Authorization", "Bearer abc"), ("Accept", "application/json")],
        "items": [{"token": "t0k3n"}, {"token_count": 3}],
        "credentials": {"user": "neo4j", "password": "x"},
    }
    assert redact_value(value) == {
        "llm": {"api_key": MASK, "max_tokens": 512, "base_url": "http://user:***@llm.local/v1"},
        "headers": [("Authorization", MASK), ("Accept", "application/json")],
        "items": [{"token": MASK}, {"token_count": 3}],
        "credentials": MASK,
    }


def test_unset_secrets_stay_visible_as_unset() -> None:
    assert redact_value({"password": None, "token": "", "auth": False}) == {
        "password": None,
        "token": "",
        "auth": False,
    }


def test_secret_str_keeps_its_own_mask() -> None:
    secret = SecretStr("hunter22")
    kept = redact_value({"value": secret})["value"]
    assert kept is secret and str(kept) == "**********"
    assert redact_value({"password": secret}) == {"password": MASK}


def test_values_under_innocent_keys_are_searched_as_text() -> None:
    assert redact_value({"note": f"use {GITHUB_TOKEN} here"}) == {"note": "use *** here"}
    assert redact_value(("a", f"token={GITHUB_TOKEN}")) == ("a", "token=***")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer ***"),
        ("authorization: basic dXNlcjpwYXNz", "authorization: basic ***"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Basic ***"),
        ('headers={"Authorization": "Bearer sk-short"}', 'headers={"Authorization": "Bearer ***"}'),
        ("Authorization: rawtoken", "Authorization: ***"),
        ("Authorization: Bearer x", "Authorization: Bearer ***"),
    ],
)
def test_authorization_headers(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bolt://neo4j:hunter2@db.example:7687", "bolt://neo4j:***@db.example:7687"),
        ("postgresql://app:p%40ss@localhost/db", "postgresql://app:***@localhost/db"),
        ("connecting to https://user:tok3n@milvus:19530 now", "connecting to https://user:***@milvus:19530 now"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("bolt://neo4j@db:7687", "bolt://neo4j@db:7687"),
    ],
)
def test_connection_string_credentials_keep_the_user(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter", "password=***"),
        ("login failed: password=hunter2 user=bob", "login failed: password=*** user=bob"),
        ("token: abc123 and more", "token: *** and more"),
        ('{"api_key": "sk-zz", "token_count": 5}', '{"api_key": "***", "token_count": 5}'),
        ("{'password': 'x y z', 'user': 'bob'}", "{'password': '***', 'user': 'bob'}"),
        ("db_password := 'abc'", "db_password := '***'"),
        ("client_secret=abc&scope=read", "client_secret=***&scope=read"),
        ("LOCALMIND_GRAPH__PASSWORD=abc", "LOCALMIND_GRAPH__PASSWORD=***"),
    ],
)
def test_assignments_of_secret_keys(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "token_count=5 max_tokens=512 context_tokens=2048",
        "tokenizer: tokenizers 0.20",
        "first_token_timeout=30.0",
        "password_file=/run/secrets/neo4j",
        "secret_files: ['.env', '*.pem']",
        "tokens: 123",
        "auth failed for user neo4j",
        "Authorization failed",
        "setting graph.password: Neo4j is selected but no password is set",
        "a == b, x:=1",
        "see http://example.com:8080/path and 12:30:00",
        "",
    ],
)
def test_innocent_text_is_kept(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {GITHUB_TOKEN} end", "key *** end"),
        (f"id {AWS_KEY_ID}.", "id ***."),
        (f"jwt={JWT}", "jwt=***"),
        ("slack xoxb-1234567890-abcdefghij", "slack ***"),
        ("openai sk-proj-abc123def456ghi789jkl0", "openai ***"),
    ],
)
def test_known_key_formats_from_the_indexer(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_a_private_key_block_becomes_one_mask_and_the_next_line_stays() -> None:
    body = "MIIEowIBAAKCAQEAxyzxyzxyzxyzxyzxyz\nabcdefabcdefabcdefabcdefabcdef"
    text = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\nnext line"
    assert redact_text(text) == "-----BEGIN RSA PRIVATE KEY-----\n***\n-----END RSA PRIVATE KEY-----\nnext line"


def test_a_secret_before_a_line_break_keeps_the_break() -> None:
    assert redact_text(f"{GITHUB_TOKEN}\nnext") == "***\nnext"


def test_redaction_is_idempotent() -> None:
    text = f"password=hunter2 Authorization: Bearer abc {GITHUB_TOKEN} bolt://u:p@h"
    once = redact_text(text)
    assert redact_text(once) == once
    assert "hunter2" not in once and "abc" not in once and GITHUB_TOKEN not in once and ":p@" not in once
