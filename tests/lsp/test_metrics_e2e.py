"""`localmind serve --metrics-port`: after a hover, a search and a refused chat request, the endpoint on
127.0.0.1 reports request latency per method, rate-limit refusals, the embedder's breaker state,
backend call latency, chunks indexed and the index queue."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.helpers import SERVER_COMMAND, make_client, wait_for_index

pytestmark = pytest.mark.asyncio(loop_scope="module")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def outward_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format, or 0 when it is absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_the_metrics_endpoint_reports_what_the_server_did(lsp_root: Path, lsp_env: dict[str, str]) -> None:
    port = free_port()
    config = ClientServerConfig(
        server_command=[*SERVER_COMMAND, "--metrics-port", str(port)], server_env=lsp_env, client_factory=make_client
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                workspace_folders=[types.WorkspaceFolder(uri=lsp_root.as_uri(), name="ws")],
                initialization_options={"limits": {"chat": {"per_minute": 1, "burst": 1}}},
            )
        )
        await wait_for_index(client)
        path = lsp_root / "src" / "config_loader.py"
        line = next(i for i, text in enumerate(path.read_text().splitlines()) if "def " in text)
        await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
                position=types.Position(line=line, character=6),
            )
        )
        search = types.ExecuteCommandParams(command="localmind.search", arguments=[{"query": "load the config"}])
        assert await client.workspace_execute_command_async(search)
        ask = types.ExecuteCommandParams(command="localmind.ask", arguments=[{"question": "how is config loaded?"}])
        await client.workspace_execute_command_async(ask)
        with pytest.raises(JsonRpcException, match="rate limited, retry after"):
            await client.workspace_execute_command_async(ask)

        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert sample(text, "localmind_request_seconds_count", method="textDocument/hover", outcome="ok") >= 1
        assert sample(text, "localmind_request_seconds_count", method="workspace/executeCommand:localmind.search") >= 1
        assert sample(text, "localmind_rate_limited_total", method_class="chat") == 1
        assert sample(text, "localmind_breaker_state", backend="embedder", state="closed") == 1
        assert sample(text, "localmind_backend_call_seconds_count", backend="embedder", operation="embed_query") >= 1
        assert sample(text, "localmind_chunks_indexed_total") > 0
        assert sample(text, "localmind_index_queue_depth") == 0
        outward = outward_address()
        if outward is not None:  # Bound to the loopback address only: another address of this machine refuses.
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://{outward}:{port}/metrics", timeout=2)
    finally:
        await client.shutdown_session()
