"""End to end: `localmind serve` as a subprocess over stdio, driven by pytest-lsp on the fixture workspace."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.helpers import index_ends, wait_for_index, wait_until_embedded

pytestmark = pytest.mark.asyncio(loop_scope="module")


def position_of(path: Path, needle: str, offset: int = 1) -> types.Position:
    """Where needle first occurs in the file (plus offset characters, to land inside the word)."""
    for number, line in enumerate(path.read_text().split("\n")):
        if needle in line:
            return types.Position(line=number, character=line.index(needle) + offset)
    raise AssertionError(f"{needle!r} is not in {path}")


def text_at(path: Path, span: types.Range) -> str:
    assert span.start.line == span.end.line
    return path.read_text().split("\n")[span.start.line][span.start.character : span.end.character]


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


async def test_indexing_reports_progress_from_begin_to_end(client: LanguageClient) -> None:
    reports = next(iter(client.progress_reports.values()))
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].cancellable
    assert any(isinstance(r, types.WorkDoneProgressReport) and r.percentage == 100 for r in reports)
    assert "Indexed" in (index_ends(client)[0].message or "")


async def test_hover_shows_a_card_linking_the_definition(client: LanguageClient, lsp_root: Path) -> None:
    note = lsp_root / "notes" / "architecture.md"
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=note.as_uri()),
            position=position_of(note, "parse_config"),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    card = hover.contents.value.replace("\\", "")  # Markdown escapes, such as parse\_config.
    assert "parse_config" in card.split("\n")[0]
    assert "src/config_loader.py:12" in card, card
    assert (lsp_root / "src" / "config_loader.py").as_uri() in card


async def test_hover_on_a_blank_line_is_empty(client: LanguageClient, lsp_root: Path) -> None:
    note = lsp_root / "notes" / "architecture.md"
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=note.as_uri()), position=types.Position(line=5, character=0)
        )
    )
    assert hover is None


async def test_workspace_symbol_finds_a_concept_by_meaning(client: LanguageClient) -> None:
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="read key value pairs from a file"))
    assert symbols, "no symbols"
    names = [s.name for s in symbols[:5]]
    assert "parse_config" in names, names


async def test_definition_of_a_symbol_is_its_name(client: LanguageClient, lsp_root: Path) -> None:
    note = lsp_root / "notes" / "architecture.md"
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=note.as_uri()),
            position=position_of(note, "parse_config", 3),
        )
    )
    assert isinstance(found, list) and found
    target = found[0]
    assert isinstance(target, types.Location)
    assert target.uri == (lsp_root / "src" / "config_loader.py").as_uri()
    assert text_at(lsp_root / "src" / "config_loader.py", target.range) == "parse_config"


async def test_definition_of_a_wiki_link_is_the_note(client: LanguageClient, lsp_root: Path) -> None:
    note = lsp_root / "notes" / "architecture.md"
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=note.as_uri()), position=position_of(note, "[[design]]", 3)
        )
    )
    assert isinstance(found, list) and len(found) == 1
    assert found[0].uri == (lsp_root / "notes" / "design.md").as_uri()  # type: ignore[union-attr]


async def test_definition_of_a_markdown_link_is_the_file(client: LanguageClient, lsp_root: Path) -> None:
    note = lsp_root / "notes" / "architecture.md"
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=note.as_uri()), position=position_of(note, "the loader", 2)
        )
    )
    assert isinstance(found, list) and len(found) == 1
    assert found[0].uri == (lsp_root / "src" / "config_loader.py").as_uri()  # type: ignore[union-attr]


async def test_references_are_every_mention_with_exact_ranges(client: LanguageClient, lsp_root: Path) -> None:
    source = lsp_root / "src" / "config_loader.py"
    found = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=source.as_uri()),
            position=position_of(source, "def parse_config", 6),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert found, "no references"
    files = {Path(loc.uri.removeprefix("file://")).relative_to(lsp_root).as_posix() for loc in found}
    assert {"notes/architecture.md", "src/config_loader.py"} <= files, files
    for location in found:
        assert text_at(Path(location.uri.removeprefix("file://")), location.range) == "parse_config"


async def test_document_symbols_of_code_and_notes(client: LanguageClient, lsp_root: Path) -> None:
    code = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(
            text_document=types.TextDocumentIdentifier(uri=(lsp_root / "src" / "config_loader.py").as_uri())
        )
    )
    assert code and {"ConfigError", "parse_config", "merge_configs"} <= {s.name for s in code}
    notes = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(
            text_document=types.TextDocumentIdentifier(uri=(lsp_root / "notes" / "architecture.md").as_uri())
        )
    )
    assert notes and isinstance(notes[0], types.DocumentSymbol)
    top = notes[0]
    assert top.name == "Architecture"
    assert {"Search flow", "Failure handling"} <= {child.name for child in top.children or []}


async def test_a_broken_wiki_link_gets_a_diagnostic(client: LanguageClient, lsp_root: Path) -> None:
    note = lsp_root / "notes" / "broken.md"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=note.as_uri(), language_id="markdown", version=1, text=note.read_text()
            )
        )
    )
    async with asyncio.timeout(10):
        while note.as_uri() not in client.diagnostics:
            await asyncio.sleep(0.05)
    diagnostics = client.diagnostics[note.as_uri()]
    assert len(diagnostics) == 1, diagnostics
    assert "no-such-note" in diagnostics[0].message
    assert text_at(note, diagnostics[0].range) == "[[no-such-note]]"


async def test_search_command_returns_locations(client: LanguageClient, lsp_root: Path) -> None:
    results = await command(client, "localmind.search", {"query": "merge two configurations", "k": 3})
    assert 1 <= len(results) <= 3
    top = results[0]
    assert top["location"]["uri"] == (lsp_root / "src" / "config_loader.py").as_uri()
    assert top["provenance"] and top["snippet"]
    notes = await command(client, "localmind.search", {"query": "configuration", "kind": "notes"})
    assert notes and all(hit["kind"] == "notes" for hit in notes)


async def test_search_streams_partial_results_when_given_a_token(client: LanguageClient) -> None:
    final = await command(client, "localmind.search", {"query": "configuration", "k": 12, "partialResultToken": "p1"})
    assert final == []
    streamed = client.partial_results["p1"]  # type: ignore[attr-defined]
    assert len(streamed) == 12 and all("location" in hit for hit in streamed)


@pytest.mark.parametrize(
    "arguments",
    [[], ["just a string"], [{"query": "x", "k": 0}], [{"query": "x", "kind": "pictures"}], [{"q": "x"}]],
)
async def test_invalid_search_arguments_are_invalid_params(client: LanguageClient, arguments: list[Any]) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "localmind.search", *arguments)
    assert caught.value.code == -32602, caught.value


async def test_status_related_and_reindex(client: LanguageClient, lsp_root: Path) -> None:
    status = await command(client, "localmind.status")
    assert status["index"]["files"] >= 5 and status["backends"]["graph"]["state"] == "ok"
    related = await command(client, "localmind.related", (lsp_root / "notes" / "architecture.md").as_uri())
    paths = [hit["path"] for hit in related]
    assert "notes/architecture.md" not in paths and "notes/design.md" in paths, paths
    assert await command(client, "localmind.reindex") == {"scheduled": True}


async def test_ask_streams_an_extractive_answer_with_citations(client: LanguageClient, lsp_root: Path) -> None:
    request = {"question": "how are configuration files parsed?", "partialResultToken": "ask-1"}
    answer = await command(client, "localmind.ask", request)
    assert answer["extractive"] is True and answer["sources"]
    streamed = "".join(part["delta"] for part in client.partial_results["ask-1"])  # type: ignore[attr-defined]
    assert streamed == answer["answer"]
    cited = {int(n) for n in re.findall(r"^\[(\d+)\] ", answer["answer"], re.MULTILINE)}  # Citation lines.
    assert cited == {source["n"] for source in answer["sources"]}, "every citation has a source and back"
    first = answer["sources"][0]
    assert first["uri"] == (lsp_root / first["path"]).as_uri()
    follow = await command(
        client, "localmind.ask", {"question": "and merged?", "conversationId": answer["conversationId"]}
    )
    assert follow["conversationId"] == answer["conversationId"]
    scoped = await command(
        client,
        "localmind.ask",
        {"question": "configuration", "scope": {"uri": (lsp_root / "src" / "settings.py").as_uri()}},
    )
    assert {source["path"] for source in scoped["sources"]} == {"src/settings.py"}
    assert "hunter2" not in json.dumps(scoped), "secrets are masked in what the answer quotes"
    with pytest.raises(JsonRpcException) as caught:
        await command(client, "localmind.ask", {"question": ""})
    assert caught.value.code == -32602


async def test_a_saved_edit_changes_search_results(client: LanguageClient, lsp_root: Path) -> None:
    await wait_for_index(client, runs=len(index_ends(client)))
    before = len(index_ends(client))
    note = lsp_root / "notes" / "zebras.md"
    note.write_text("# Zebras\n\nStriped zebras graze on the savanna in herds.\n")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=note.as_uri()))
    )
    await wait_for_index(client, runs=before + 1, timeout=60)
    await wait_until_embedded(client, timeout=60)
    results = await command(client, "localmind.search", {"query": "striped animals on the savanna", "k": 1})
    assert results[0]["path"] == "notes/zebras.md"


async def test_a_cancelled_request_is_answered_as_cancelled(client: LanguageClient) -> None:
    # The reader thread answers one request at a time, so the last of a burst is still queued when
    # its cancellation arrives.
    slow = {"query": "how is the configuration loader merged " * 200, "k": 200}  # A long query embeds slowly.
    params = types.ExecuteCommandParams(command="localmind.search", arguments=[slow])
    ids = [f"burst-{n}" for n in range(40)]
    burst = [client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id=i) for i in ids]
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=ids[-1]))
    outcomes = await asyncio.gather(*burst, return_exceptions=True)
    assert isinstance(outcomes[-1], JsonRpcException) and outcomes[-1].code == -32800, outcomes[-1]
    assert all(isinstance(o, list) for o in outcomes[:5]), "earlier requests are answered"


async def test_the_clients_log_shows_what_the_server_did(client: LanguageClient) -> None:
    """An editor's server log (VS Code's output channel) gets each request answered, at Info, while stderr
    keeps warnings only."""
    await command(client, "localmind.search", {"query": "configuration", "k": 1})
    async with asyncio.timeout(10):
        while not any("answered in" in m.message for m in client.log_messages):
            await asyncio.sleep(0.05)
    answered = [m for m in client.log_messages if "answered in" in m.message]
    assert all(m.type == types.MessageType.Info for m in answered)
    assert any("execute_command" in m.message.lower() or "command" in m.message.lower() for m in answered), answered
