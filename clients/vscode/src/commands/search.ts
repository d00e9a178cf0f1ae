// Local Mind: Search Workspace — searches as the user types (debounced), with hits streaming in as partial
// results, each new query cancelling the one before.

import * as vscode from "vscode";

import { searchDebounceMs, searchResults } from "../config";
import { errorMessage, errorParts } from "../format";
import { Commands, ErrorCodes, type SearchArgs, type SearchHit } from "../lsp_ext";
import type { LocalMindServer } from "../server";
import { attachHitBehaviour, type HitItem, hitItem, messageItem } from "./hitPicker";

export function searchWorkspace(server: LocalMindServer, initialQuery = ""): vscode.QuickPick<HitItem> {
  const pick = vscode.window.createQuickPick<HitItem>();
  pick.title = "Local Mind: Search Workspace";
  pick.placeholder = "Search code and notes by meaning, e.g. “where are configurations merged”";
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;

  let timer: NodeJS.Timeout | undefined;
  let cancel: vscode.CancellationTokenSource | undefined;
  let sequence = 0;

  const run = async (query: string): Promise<void> => {
    cancel?.cancel();
    const mine = ++sequence;
    if (query.trim() === "") {
      pick.items = [];
      pick.busy = false;
      return;
    }
    const source = new vscode.CancellationTokenSource();
    cancel = source;
    pick.busy = true;
    let hits: SearchHit[] = [];
    try {
      const final = await server.commandWithPartials(
        Commands.search,
        (token): SearchArgs => ({ query, k: searchResults(), partialResultToken: token }),
        (batch) => {
          if (mine === sequence) {
            hits = hits.concat(batch);
            pick.items = hits.map(hitItem);
          }
        },
        source.token,
      );
      if (mine !== sequence) {
        return;
      }
      if (Array.isArray(final) && final.length > 0) {
        hits = hits.concat(final);
      }
      pick.items = hits.length > 0 ? hits.map(hitItem) : [messageItem("$(search-stop) Nothing found", `for “${query}”`)];
    } catch (error) {
      if (mine === sequence && errorParts(error).code !== ErrorCodes.requestCancelled && !source.token.isCancellationRequested) {
        pick.items = [messageItem("$(error) Search failed", errorMessage("search", error))];
      }
    } finally {
      if (mine === sequence) {
        pick.busy = false;
      }
      source.dispose();
    }
  };

  pick.onDidChangeValue((value) => {
    if (timer !== undefined) {
      clearTimeout(timer);
    }
    timer = setTimeout(() => {
      timer = undefined;
      void run(value);
    }, searchDebounceMs());
  });
  pick.onDidHide(() => {
    if (timer !== undefined) {
      clearTimeout(timer);
    }
    cancel?.cancel();
  });
  // Registered after the search's own hide handler, because this one disposes the quick pick.
  attachHitBehaviour(pick);
  pick.show();
  if (initialQuery !== "") {
    pick.value = initialQuery;
    void run(initialQuery);
  }
  return pick;
}
