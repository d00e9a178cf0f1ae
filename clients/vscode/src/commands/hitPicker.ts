// The quick pick that shows search hits: file, line, snippet and provenance per row; the active row is
// previewed; accepting opens it; leaving without a choice goes back to where the user was.

import * as vscode from "vscode";

import { hitRow } from "../format";
import { showRange } from "../locations";
import type { SearchHit } from "../lsp_ext";

export interface HitItem extends vscode.QuickPickItem {
  hit?: SearchHit;
}

const OPEN_BESIDE: vscode.QuickInputButton = {
  iconPath: new vscode.ThemeIcon("split-horizontal"),
  tooltip: "Open to the Side",
};

/** A row for a hit; alwaysShow keeps the server's ranking instead of VS Code's own filtering by label. */
export function hitItem(hit: SearchHit): HitItem {
  const row = hitRow(hit);
  return { ...row, hit, alwaysShow: true, buttons: [OPEN_BESIDE] };
}

/** A row that is a message, not a hit (nothing found, an error). */
export function messageItem(label: string, detail?: string): HitItem {
  return detail === undefined ? { label, alwaysShow: true } : { label, detail, alwaysShow: true };
}

/** Wires preview, open and restore into a quick pick of hits. */
export function attachHitBehaviour(pick: vscode.QuickPick<HitItem>): void {
  const origin = vscode.window.activeTextEditor;
  const originSelection = origin?.selection;
  let accepted = false;
  let previewed = false;

  pick.onDidChangeActive((items) => {
    const hit = items[0]?.hit;
    if (hit !== undefined) {
      previewed = true;
      void showRange(hit.uri, hit.range, { preview: true, preserveFocus: true });
    }
  });
  pick.onDidAccept(() => {
    const hit = pick.selectedItems[0]?.hit ?? pick.activeItems[0]?.hit;
    if (hit === undefined) {
      return;
    }
    accepted = true;
    pick.hide();
    void showRange(hit.uri, hit.range, { preview: false });
  });
  pick.onDidTriggerItemButton((event) => {
    const hit = event.item.hit;
    if (hit !== undefined) {
      accepted = true;
      pick.hide();
      void showRange(hit.uri, hit.range, { viewColumn: vscode.ViewColumn.Beside });
    }
  });
  pick.onDidHide(() => {
    if (!accepted && previewed && origin !== undefined) {
      void vscode.window.showTextDocument(origin.document, {
        viewColumn: origin.viewColumn,
        selection: originSelection,
        preview: false,
      });
    }
    pick.dispose();
  });
}
