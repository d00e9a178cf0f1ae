"""The one settings model of Local Mind.

Values are resolved in this order, each overriding the one before: defaults, the user's
``localmind.toml`` (user config folder), the workspace's ``localmind.toml``, environment variables
``LOCALMIND_<SECTION>__<KEY>``, then editor settings passed as keyword arguments. Of the workspace's own
file only the settings a repository may set are taken unless the user trusts the folder (see
workspace_trust.py).
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import socket
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, create_model, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from localmind.errors import ConfigError
from localmind.workspace_trust import TrustError, is_trusted, read_workspace_file, split_settings

# The built forms of an embedding model (embeddings/build_cache.py); defined here, where the CLI can read
# them without importing ONNX.
Variant = Literal["fp32", "int8", "fp16"]
VARIANTS: tuple[Variant, ...] = ("fp32", "int8", "fp16")
# Variants whose activations are quantised with the range of each inference run; they embed one text per run.
RUN_SCALED_VARIANTS: frozenset[Variant] = frozenset({"int8"})
# "auto" picks fp16 where ONNX Runtime's GPU build sees a GPU (and embeddings.device allows it), else int8.
VariantSetting = Literal["auto", "fp32", "int8", "fp16"]

CONFIG_FILE_NAME = "localmind.toml"

# Settings sources are chosen by a classmethod that receives no arguments of ours, so the user's file and
# the workspace file's admitted values of one load_settings() call travel in a context variable.
_files: ContextVar[tuple[Path | None, dict[str, Any]]] = ContextVar("localmind_files", default=(None, {}))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EmbeddingsSettings(_Section):
    """How text becomes vectors."""

    model: str = Field("all-MiniLM-L6-v2", description="A model named in models/manifest.toml.")
    model_dir: Path | None = Field(
        None,
        description="A folder with model.onnx, tokenizer.json and localmind-model.toml; overrides model.",
    )
    variant: VariantSetting = Field(
        "auto",
        description=(
            "auto: fp16 where ONNX Runtime's GPU build sees a GPU, int8 otherwise. int8 (dynamic quantisation, one "
            "text per run: about twice as fast on CPUs, same retrieval quality), fp32 (the reference's exact vectors) "
            "or fp16 (for GPUs)."
        ),
    )
    device: Literal["auto", "cpu", "cuda", "tensorrt"] = Field(
        "auto", description="auto uses CUDA when onnxruntime-gpu and a GPU are present, else the CPU."
    )
    batch_size: int = Field(16, ge=1, le=1024, description="Texts per inference call, after length sorting.")
    intra_op_threads: int = Field(0, ge=0, le=256, description="ONNX Runtime threads; 0 lets it choose.")
    cache_dir: Path | None = Field(None, description="Where built models live; default: the user cache.")

    def resolved_cache_dir(self) -> Path:
        """The folder that holds built models and downloaded sources."""
        return self.cache_dir or Path(platformdirs.user_cache_dir("localmind"))


_SECRET_STORE_SUFFIXES = ("json", "yaml", "yml", "toml", "ini", "cfg", "conf", "env", "properties", "xml", "csv")
DEFAULT_SECRET_FILES = [
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    "credentials",
    "*.credentials",
    ".htpasswd",
    # Credential and secret stores by name *and* shape: data and config formats only, so the documentation of
    # Python's secrets module (secrets.rst.txt) or a module named secrets.py is indexed (and masked inside).
    *(f"{stem}.{suffix}" for stem in ("credentials", "secrets") for suffix in _SECRET_STORE_SUFFIXES),
]


class IndexingSettings(_Section):
    """What is indexed and how it is cut into chunks."""

    include: list[str] = Field(default_factory=list, description="Globs to index; empty means everything.")
    exclude: list[str] = Field(default_factory=list, description="Globs never to index (gitignore syntax).")
    max_file_bytes: int = Field(2_000_000, ge=1_000, le=1_000_000_000, description="Larger files are skipped.")
    skip_secret_files: bool = Field(True, description="Skip files named like secrets (.env, *.pem, id_rsa…).")
    secret_files: list[str] = Field(default_factory=lambda: list(DEFAULT_SECRET_FILES))
    redact_secrets: bool = Field(True, description="Mask API keys, tokens and passwords inside indexed text.")
    chunk_tokens: int = Field(200, ge=100, le=8000, description="Chunk size in the embedding model's tokens.")
    chunk_overlap: int = Field(32, ge=0, le=4000, description="Tokens shared by consecutive chunks.")
    data_dir: Path | None = Field(None, description="Where workspace stores live; default: the user data folder.")
    parse_worker: bool = Field(
        True,
        description="In the language server, parse and chunk files in a worker process of its own, so hovers "
        "and searches never wait behind parsing (false: on the indexing thread, as the command line does).",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IndexingSettings:
        if self.chunk_overlap >= self.chunk_tokens:
            overlap, size = self.chunk_overlap, self.chunk_tokens
            raise ValueError(f"indexing.chunk_overlap ({overlap}) must be below indexing.chunk_tokens ({size})")
        return self

    def resolved_data_dir(self) -> Path:
        return self.data_dir or Path(platformdirs.user_data_dir("localmind"))


class RetrievalSettings(_Section):
    """How the dense, lexical and graph signals are fused into one ranking."""

    rrf_k: int = Field(60, ge=1, le=1000, description="Reciprocal-rank-fusion constant k.")
    weight_dense: float = Field(1.0, ge=0.0, le=10.0, description="Weight of the dense (embedding) ranking.")
    weight_lexical: float = Field(1.0, ge=0.0, le=10.0, description="Weight of the BM25 ranking.")
    weight_graph: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="Weight of the knowledge-graph walk as a ranked signal (0: left out of search; hovers, "
        "references and related files still use the graph).",
    )
    graph_depth: int = Field(10, ge=1, le=2000, description="Top graph hits that count in the fusion.")
    prose_weight: float = Field(
        0.8,
        ge=0.0,
        le=10.0,
        description="Scale of prose hits (docs, notes) against code in a query about code (one where code is at "
        "least a fifth of the signals' top 10), where code is ranked among code and prose among prose: below 1, "
        "the code that does something ranks before the prose that describes it. Other queries are not scaled.",
    )
    candidates: int = Field(100, ge=10, le=2000, description="Hits each signal contributes before fusion.")
    graph_seeds: int = Field(10, ge=0, le=100, description="Top dense/lexical hits the graph expands from.")
    default_k: int = Field(10, ge=1, le=200, description="Results returned when a query names no k.")


WEAK_PASSWORDS = frozenset({"neo4j", "password", "changeme", "change-me", "secret", "admin", "test", "12345678"})


class GraphSettings(_Section):
    """Where the knowledge graph lives: the embedded SQLite store, or a Neo4j server shared by a team."""

    backend: Literal["sqlite", "neo4j"] = Field("sqlite", description="sqlite (embedded) or neo4j.")
    uri: str = Field("bolt://127.0.0.1:7687", description="Neo4j URI: bolt://, neo4j://, bolt+s:// or neo4j+s://.")
    user: str = Field("neo4j", description="Neo4j user.")
    password: SecretStr | None = Field(None, description="Neo4j password; prefer password_file or the environment.")
    password_file: Path | None = Field(None, description="A file holding the Neo4j password (first line).")
    database: str = Field("neo4j", pattern=r"^[A-Za-z][A-Za-z0-9.-]{0,62}$", description="Neo4j database name.")
    pool_size: int = Field(16, ge=1, le=500, description="Most Bolt connections kept per URI.")
    acquisition_timeout: float = Field(10.0, gt=0, le=300, description="Seconds to wait for a pooled connection.")
    connection_lifetime: float = Field(3600.0, gt=0, le=86_400, description="Seconds before a connection is renewed.")

    def resolved_password(self) -> str:
        """The password from the setting or its file; a ConfigError when Neo4j is selected without one."""
        value = self.password.get_secret_value() if self.password else ""
        if not value and self.password_file is not None:
            try:
                value = self.password_file.expanduser().read_text(encoding="utf-8").splitlines()[0].strip()
            except (OSError, IndexError) as exc:
                raise ConfigError(
                    f"setting graph.password_file: cannot read a password from {self.password_file}: {exc}"
                ) from None
        if not value:
            raise ConfigError(
                "setting graph.password: Neo4j is selected (graph.backend = neo4j) but no password is set; "
                "set LOCALMIND_GRAPH__PASSWORD or graph.password_file"
            )
        return value

    def password_is_weak(self) -> bool:
        return self.resolved_password().lower() in WEAK_PASSWORDS


class VectorSettings(_Section):
    """Where the vectors live: the embedded exact index, or Milvus (a server, or a Milvus Lite file)."""

    backend: Literal["embedded", "milvus"] = Field("embedded", description="embedded (exact, in memory) or milvus.")
    uri: str = Field(
        "http://127.0.0.1:19530", description="Milvus server URI (http:// or https://) or a Milvus Lite .db file path."
    )
    token: SecretStr | None = Field(None, description="Milvus token (user:password or an API key).")
    consistency_level: Literal["Strong", "Bounded", "Session", "Eventually"] = Field(
        "Bounded", description="Milvus search consistency."
    )
    collection_prefix: str = Field("localmind", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
    timeout: float = Field(10.0, gt=0, le=300, description="Seconds a Milvus call may take.")


class TeamSettings(_Section):
    """Who this user is on the team servers, and what the team shares (see docs/deployment.md).

    On Neo4j and Milvus a workspace belongs to its owner: the same folders indexed by two identities are two
    workspaces, and deletes and repairs touch only the owner's rows. Only a workspace named in
    `shared_workspace` is shared, by everyone who names it. Vectors are shared through the embedding cache,
    keyed by the hash of the embedded text, so nobody can read a vector without holding its text."""

    user: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="This user's identity on the team servers; default: login name@host.",
    )
    shared_workspace: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="A workspace name shared by every user who sets it; default: none (each user owns theirs).",
    )
    embedding_cache: bool = Field(
        True, description="Share vectors through the team cache (with vectors.backend = milvus)."
    )
    cache_ttl_days: float = Field(
        30.0, gt=0, le=3650, description="Days a cached vector stays unused before the team cache drops it."
    )
    allow_insecure_transport: bool = Field(
        False, description="Send server credentials in clear text (bolt://, http://) to a host other than this one."
    )

    def identity(self) -> str:
        """The user's identity: the setting, or the login name (as getpass reads LOGNAME, USER…) at this host."""
        if self.user:
            return self.user
        return f"{_login_name()}@{socket.gethostname()}"

    def cache_ttl_seconds(self) -> int:
        return max(1, int(self.cache_ttl_days * 86_400))


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # No login name in the environment and no passwd entry (some containers).
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"


class LlmSettings(_Section):
    """The language model that writes chat answers: any OpenAI-compatible chat-completions endpoint."""

    base_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        description="e.g. http://127.0.0.1:8080/v1 (llama.cpp, Ollama, vLLM, LM Studio); unset: extractive answers.",
    )
    model: str = Field("local", min_length=1, max_length=200, description="The model name sent to the endpoint.")
    api_key: SecretStr | None = Field(None, description="Bearer token for the endpoint; never logged.")
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    max_tokens: int = Field(512, ge=1, le=32_768, description="Most tokens an answer may have.")
    context_tokens: int = Field(2048, ge=256, le=1_048_576, description="The model's context window, in tokens.")
    connect_timeout: float = Field(3.0, gt=0, le=120, description="Seconds to connect to the endpoint.")
    first_token_timeout: float = Field(30.0, gt=0, le=600, description="Seconds to wait for the first token.")
    timeout: float = Field(120.0, gt=0, le=3600, description="Seconds an answer may take in all.")


class BackendPolicy(_Section):
    """How calls to one backend are timed out, retried and cut off by its circuit breaker."""

    timeout: float = Field(5.0, gt=0, le=600, description="Seconds one call may take.")
    open_timeout: float = Field(
        60.0, gt=0, le=3600, description="Seconds opening the backend may take (connecting, migrating its schema)."
    )
    retries: int = Field(2, ge=0, le=10, description="Retries of a transient failure (backoff with jitter).")
    backoff: float = Field(0.1, ge=0, le=60, description="First retry delay in seconds; doubles each retry.")
    failure_threshold: int = Field(5, ge=1, le=1000, description="Consecutive failures that open the breaker.")
    failure_rate: float = Field(
        0.5, gt=0, le=1, description="Share of failed calls in the window that opens the breaker."
    )
    window: int = Field(20, ge=2, le=10_000, description="Recent calls the failure rate is computed over.")
    reset_timeout: float = Field(5.0, gt=0, le=3600, description="Seconds the breaker stays open before a trial.")
    half_open_calls: int = Field(1, ge=1, le=100, description="Trial calls let through while half-open.")


def _policy(name: str, **defaults: Any) -> type[BackendPolicy]:
    """A BackendPolicy whose defaults suit one backend; a partial override (only `timeout`, say) keeps
    that backend's other defaults, which a default_factory instance would not."""
    fields = {key: (type(value), Field(value, **_limits_of(BackendPolicy, key))) for key, value in defaults.items()}
    return create_model(name, __base__=BackendPolicy, **fields)  # type: ignore[call-overload, no-any-return]


def _limits_of(model: type[BaseModel], key: str) -> dict[str, Any]:
    """The range and description a field declares, to carry over to a subclass's new default."""
    info = model.model_fields[key]
    bounds: dict[str, Any] = {"description": info.description}
    for meta in info.metadata:
        for bound in ("gt", "ge", "lt", "le"):
            if getattr(meta, bound, None) is not None:
                bounds[bound] = getattr(meta, bound)
    return bounds


Neo4jPolicy = _policy("Neo4jPolicy", timeout=10.0)
MilvusPolicy = _policy("MilvusPolicy", timeout=10.0)
LlmPolicy = _policy("LlmPolicy", timeout=120.0, retries=1, failure_threshold=3)
EmbedderPolicy = _policy("EmbedderPolicy", timeout=60.0, retries=0)


class ResilienceSettings(_Section):
    """One policy per backend: Neo4j, Milvus, the LLM endpoint and the embedder."""

    neo4j: Neo4jPolicy = Field(default_factory=Neo4jPolicy)  # type: ignore[valid-type]
    milvus: MilvusPolicy = Field(default_factory=MilvusPolicy)  # type: ignore[valid-type]
    llm: LlmPolicy = Field(default_factory=LlmPolicy)  # type: ignore[valid-type]
    embedder: EmbedderPolicy = Field(default_factory=EmbedderPolicy)  # type: ignore[valid-type]


class RateLimit(_Section):
    """A token bucket: `per_minute` tokens refill evenly; at most `burst` are saved up."""

    per_minute: float = Field(60.0, gt=0, le=1_000_000, description="Requests allowed per minute.")
    burst: int = Field(10, ge=1, le=100_000, description="Requests allowed at once after a quiet spell.")


def _limit(name: str, per_minute: float, burst: int) -> type[RateLimit]:
    """A RateLimit with its own defaults (see _policy for why a subclass and not a factory)."""
    fields = {
        "per_minute": (float, Field(per_minute, **_limits_of(RateLimit, "per_minute"))),
        "burst": (int, Field(burst, **_limits_of(RateLimit, "burst"))),
    }
    return create_model(name, __base__=RateLimit, **fields)  # type: ignore[call-overload, no-any-return]


HoverLimit = _limit("HoverLimit", 6000, 200)
SearchLimit = _limit("SearchLimit", 3000, 200)
ChatLimit = _limit("ChatLimit", 60, 10)
ReindexLimit = _limit("ReindexLimit", 30, 5)
OverallLimit = _limit("OverallLimit", 12_000, 500)


class LimitsSettings(_Section):
    """Rate limits of the language server, per client connection and method class, plus one overall."""

    hover: HoverLimit = Field(default_factory=HoverLimit)  # type: ignore[valid-type]
    search: SearchLimit = Field(default_factory=SearchLimit)  # type: ignore[valid-type]
    chat: ChatLimit = Field(default_factory=ChatLimit)  # type: ignore[valid-type]
    reindex: ReindexLimit = Field(default_factory=ReindexLimit)  # type: ignore[valid-type]
    overall: OverallLimit = Field(default_factory=OverallLimit)  # type: ignore[valid-type]
    max_message_bytes: int = Field(
        64_000_000,
        ge=1_000_000,
        le=2_000_000_000,
        description="Largest JSON-RPC message the server reads; a larger Content-Length is skipped and logged.",
    )


class ObservabilitySettings(_Section):
    """Logs and metrics: docs/observability.md. The command line's --log-format, --log-file and
    --metrics-port override these."""

    log_format: Literal["text", "json"] = Field("text", description="text, or json: one object per line.")
    log_file: Path | None = Field(None, description="Write logs to this file instead of stderr (never stdout).")
    metrics_port: int | None = Field(
        None, ge=1024, le=65535, description="Serve Prometheus metrics on 127.0.0.1:PORT; unset: no endpoint."
    )


class Settings(BaseSettings):
    """Every setting of Local Mind, grouped by section."""

    model_config = SettingsConfigDict(
        env_prefix="LOCALMIND_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    embeddings: EmbeddingsSettings = Field(default_factory=EmbeddingsSettings)  # type: ignore[arg-type]
    indexing: IndexingSettings = Field(default_factory=IndexingSettings)  # type: ignore[arg-type]
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)  # type: ignore[arg-type]
    graph: GraphSettings = Field(default_factory=GraphSettings)  # type: ignore[arg-type]
    vectors: VectorSettings = Field(default_factory=VectorSettings)  # type: ignore[arg-type]
    team: TeamSettings = Field(default_factory=TeamSettings)  # type: ignore[arg-type]
    llm: LlmSettings = Field(default_factory=LlmSettings)  # type: ignore[arg-type]
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)  # type: ignore[arg-type]
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)  # type: ignore[arg-type]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The first source wins: the workspace file's admitted values beat the user's file.
        user_file, workspace_values = _files.get()
        files: list[PydanticBaseSettingsSource] = [InitSettingsSource(settings_cls, init_kwargs=workspace_values)]
        if user_file is not None:
            files.append(TomlConfigSettingsSource(settings_cls, toml_file=user_file))
        return (init_settings, env_settings, *files)


_CLEAR_TEXT_SCHEMES = {"graph": ("bolt", "neo4j"), "vectors": ("http", "tcp", "grpc")}


def clear_text_credentials(settings: Settings) -> list[str]:
    """A sentence for each server backend whose credentials would cross the network in clear text: a
    password over bolt:// or neo4j://, a token over http://, to a host that is not this machine."""
    problems = []
    if settings.graph.backend == "neo4j" and _clear_text_to_remote(settings.graph.uri, "graph"):
        problems.append(
            f"graph.uri = {uri_without_credentials(settings.graph.uri)} sends the Neo4j password unencrypted; use bolt+s://"
        )
    token = settings.vectors.token.get_secret_value() if settings.vectors.token else ""
    if settings.vectors.backend == "milvus" and token and _clear_text_to_remote(settings.vectors.uri, "vectors"):
        problems.append(
            f"vectors.uri = {uri_without_credentials(settings.vectors.uri)} sends the Milvus token unencrypted; use https://"
        )
    return problems


def check_transport(settings: Settings) -> None:
    """Refuse to send credentials in clear text to another host unless team.allow_insecure_transport says so."""
    problems = clear_text_credentials(settings)
    if problems and not settings.team.allow_insecure_transport:
        raise ConfigError(
            "; ".join(problems) + " (or, on a network you trust, set team.allow_insecure_transport = true)"
        )


def _clear_text_to_remote(uri: str, section: str) -> bool:
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() not in _CLEAR_TEXT_SCHEMES[section]:
        return False
    host = (parts.hostname or "").lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # A host name: only localhost names resolve to this machine for sure.
        return True


def uri_without_credentials(uri: str) -> str:
    """A server URI without its user information (a `user:password@` part), for messages."""
    parts = urlsplit(uri.strip())
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def user_config_file() -> Path:
    """The user's own localmind.toml, in the platform's config folder."""
    return Path(platformdirs.user_config_dir("localmind")) / CONFIG_FILE_NAME


@contextmanager
def _using_files(user_file: Path | None, workspace_values: dict[str, Any]) -> Iterator[None]:
    token = _files.set((user_file, workspace_values))
    try:
        yield
    finally:
        _files.reset(token)


def load_settings(
    workspace: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    user_config: Path | None = None,
) -> Settings:
    """Resolve settings for a workspace; raise ConfigError naming each invalid setting."""
    user_file = user_config or user_config_file()
    unknown = unknown_environment_settings(os.environ)
    if unknown:
        raise ConfigError("; ".join(unknown))
    try:
        admitted, _ = workspace_file_settings(workspace, user_file)
        with _using_files(user_file if user_file.is_file() else None, admitted):
            return Settings(**dict(overrides or {}))
    except ValidationError as exc:
        files = [f for f in (_workspace_file(workspace), user_file) if f is not None and f.is_file()]
        raise ConfigError(describe_validation_error(exc, lambda loc: setting_source(loc, files))) from None
    except ValueError as exc:  # A malformed TOML file or environment value.
        raise ConfigError(f"invalid configuration: {exc}") from None


# LOCALMIND_<SECTION>__<KEY>[__<SUBKEY>]: how an environment variable names a setting.
_ENVIRONMENT_SETTING = re.compile(r"LOCALMIND_(?P<section>[A-Z0-9_]+?)__(?P<key>[A-Z0-9]+(?:_[A-Z0-9]+)*)", re.I)


def unknown_environment_settings(environ: Mapping[str, str]) -> list[str]:
    """A sentence for each LOCALMIND_<SECTION>__<KEY> variable that names no setting (a misspelled section
    or key would otherwise be ignored in silence)."""
    problems = []
    for name in sorted(environ):
        match = _ENVIRONMENT_SETTING.match(name)
        if match is None:
            continue
        section, key = match["section"].lower(), match["key"].lower()
        field = Settings.model_fields.get(section)
        if field is None:
            sections = ", ".join(Settings.model_fields)
            problems.append(f"environment variable {name}: there is no settings section {section!r} ({sections})")
        elif isinstance(field.annotation, type) and key not in field.annotation.model_fields:
            problems.append(f"environment variable {name}: the {section} section has no setting {key!r}")
    return problems


def _workspace_file(workspace: Path | None) -> Path | None:
    return workspace / CONFIG_FILE_NAME if workspace else None


def workspace_file_settings(
    workspace: Path | None, user_config: Path | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The values of the workspace's localmind.toml that apply, and the names of those ignored because the
    folder is not trusted; a ConfigError when the file cannot be read."""
    path = _workspace_file(workspace)
    if workspace is None or path is None or not path.is_file():
        return {}, []
    user_file = user_config or user_config_file()
    try:
        values = read_workspace_file(path)
        if is_trusted(workspace, user_file):
            return values, []
    except TrustError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
    return split_settings(values)


def ignored_workspace_settings(workspace: Path | None, user_config: Path | None = None) -> str | None:
    """A sentence naming the workspace file's settings that were ignored (the folder is not trusted), and
    how to trust it; None when nothing was ignored."""
    try:
        _, ignored = workspace_file_settings(workspace, user_config)
    except ConfigError:
        return None  # load_settings reports an unreadable file.
    if not ignored or workspace is None:
        return None
    return (
        f"ignored {', '.join(ignored)} in {_workspace_file(workspace)}: a repository's own settings may not set "
        f"{'this' if len(ignored) == 1 else 'these'} until you trust the folder (localmind trust {workspace})"
    )


def describe_validation_error(
    exc: ValidationError, source: Callable[[tuple[str, ...]], str | None] = lambda _loc: None
) -> str:
    """One line per problem, each naming the setting as a user writes it (section.key) and, when `source`
    knows it, where the value came from (an environment variable, a file and line)."""
    lines = []
    for err in exc.errors():
        loc = tuple(str(part) for part in err["loc"])
        name = ".".join(loc) or "settings"
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        where = source(loc) if loc else None
        lines.append(f"setting {name}: {err['msg']}{got}" + (f", from {where}" if where else ""))
    return "invalid configuration:\n  " + "\n  ".join(lines)


def setting_source(loc: tuple[str, ...], files: Sequence[Path]) -> str | None:
    """Where a setting's value came from: its environment variable, or the first of `files` (TOML) that
    sets it, with the line; None when neither does (an editor's setting, or a default)."""
    variable = "LOCALMIND_" + "__".join(part.upper() for part in loc)
    if variable in os.environ:
        return f"environment variable {variable}"
    for path in files:
        line = _toml_line(path, loc)
        if line is not None:
            return f"{path}:{line}" if line else str(path)
    return None


def _toml_line(path: Path, loc: tuple[str, ...]) -> int | None:
    """The 1-based line of `loc` in a TOML file (its table header for a section, its key line for a
    setting); 0 when the file sets it but the line was not found (an inline table); None when it does not."""
    try:
        text = path.read_text(encoding="utf-8")
        values: Any = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    for part in loc:
        if not isinstance(values, dict) or part not in values:
            return None
        values = values[part]
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.fullmatch(r"\[\s*([A-Za-z0-9_.\s-]+?)\s*\]", line)
        if header:
            table = tuple(part.strip() for part in header.group(1).split("."))
            if table == loc:
                return number
            continue
        key = re.match(r"([A-Za-z0-9_.-]+)\s*=", line)
        if key and (*table, *key.group(1).split(".")) == loc:
            return number
    return 0
