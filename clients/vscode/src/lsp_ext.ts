// Local Mind's custom protocol, as docs/protocol.md writes it down: command names and the JSON shapes of
// their arguments and results, paired per command in CommandTypes. The server's twin is
// server/localmind/lsp/protocol.py; change the three together (tests on both sides compare them). It
// imports nothing from vscode, so the pure modules and their unit tests can use it.

/** The custom commands, sent with workspace/executeCommand. */
export const Commands = {
  search: "localmind.search",
  related: "localmind.related",
  reindex: "localmind.reindex",
  status: "localmind.status",
  ask: "localmind.ask",
  summarize: "localmind.summarize",
} as const;

/** Indexing runs report work-done progress under tokens that start with this. */
export const INDEX_PROGRESS_PREFIX = "localmind-index-";

/** A request over one of the server's rate limits fails with a message that starts with this. */
export const RATE_LIMIT_PREFIX = "rate limited, retry after";

/** JSON-RPC error codes the server answers with (see "Errors" in docs/protocol.md). */
export const ErrorCodes = {
  parseError: -32700,
  invalidRequest: -32600,
  serverNotInitialized: -32002,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  requestCancelled: -32800,
  requestFailed: -32803,
} as const;

/** An LSP position: 0-based line, character in UTF-16 code units. */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface Location {
  uri: string;
  range: Range;
}

export type SearchKind = "code" | "notes" | "docs";

/** The argument of localmind.search; unknown fields are refused by the server. */
export interface SearchArgs {
  query: string;
  k?: number;
  path?: string;
  kind?: SearchKind;
  language?: string;
  root?: string;
  partialResultToken?: string | number;
}

/** One hit of localmind.search or localmind.related. */
export interface SearchHit {
  uri: string;
  path: string;
  root: string;
  range: Range;
  location: Location;
  snippet: string;
  snippet_line: number;
  /** Character spans inside snippet, [start, end). */
  highlights: [number, number][];
  /** The innermost definition the hit lies in, qualified ("Class.method"); null for prose. */
  symbol: string | null;
  symbol_kind: string | null;
  /** The whole range of that definition. */
  definition: Range | null;
  heading: string[];
  kind: SearchKind;
  language: string | null;
  score: number;
  /** Why the hit is here, strongest first, joined with "+": the signals that ranked it in their top 10. */
  provenance: string;
  ranks: Partial<Record<"dense" | "lexical" | "graph", number>>;
  chunk_id: string;
}

/** Every field of a hit, for the check against docs/protocol.md (the compiler checks none is missing). */
export const SEARCH_HIT_FIELDS = [
  "uri",
  "path",
  "root",
  "range",
  "location",
  "snippet",
  "snippet_line",
  "highlights",
  "symbol",
  "symbol_kind",
  "definition",
  "heading",
  "kind",
  "language",
  "score",
  "provenance",
  "ranks",
  "chunk_id",
] as const satisfies readonly (keyof SearchHit)[];

/** The argument of localmind.related: a document URI, or an object with one. */
export type RelatedArgs = string | { uri: string; k?: number };

export interface ReindexResult {
  scheduled: boolean;
}

/** One backend in localmind.status; state, since and error appear once the resilience work lands. */
export interface BackendStatus {
  backend?: string;
  /** "ok" or "degraded" (other words may follow in later servers). */
  state?: string;
  /** ISO-8601 time since when the backend is degraded. */
  since?: string;
  error?: string | null;
  pending?: number;
}

export interface IndexingStatus {
  running: boolean;
  files_done: number;
  files_total: number;
  chunks: number;
  runs: number;
  /** The running pass's phase: "indexing" (files, phase 1) or "embedding" (chunks, phase 2; already searchable). */
  phase?: "indexing" | "embedding";
  embedded?: number;
  to_embed?: number;
  last_report?: Record<string, unknown> | null;
  last_error: string | null;
}

/** The result of localmind.status. With no folder open only settings_problem, roots and message are set. */
export interface StatusResult {
  settings_problem: string | null;
  roots: string[];
  message?: string;
  store?: string;
  /** dense_coverage: the share of chunks that have their vector, 0..1 (below 1 while a pass embeds). */
  index?: { files?: number; chunks?: number; pending_vectors?: number; dense_coverage?: number } & Record<string, unknown>;
  indexing?: IndexingStatus;
  model?: { id?: string; provider?: string; dimensions?: number };
  backends?: Record<string, BackendStatus>;
  breakers?: Record<string, unknown>;
  health?: "ok" | "degraded";
  /** One line for a status bar: "ready: 40 chunks", "indexing 40%", "degraded: graph unavailable since 12:03". */
  summary?: string;
}

/**
 * Limits the sources of an answer to one document (uri) or a glob (path). With uri and range (the editor's
 * selection), the selected text is source [1] at exactly that range.
 */
export interface AskScope {
  uri?: string;
  path?: string;
  range?: Range;
}

/** The argument of localmind.ask. */
export interface AskArgs {
  question: string;
  conversationId?: string;
  k?: number;
  scope?: AskScope;
  partialResultToken?: string | number;
  /** The server reports work-done progress on it: begin, a report when the LLM starts writing, end. */
  workDoneToken?: string | number;
}

/** A partial result of localmind.ask: the next piece of the answer. */
export interface AskDelta {
  delta: string;
}

/** A numbered source of an answer; [n] in the answer cites sources[n - 1]. */
export interface AskSource {
  n: number;
  path: string;
  uri: string;
  range: Range;
  snippet: string;
}

export interface AskResult {
  answer: string;
  extractive: boolean;
  conversationId: string;
  /** The passages the answer was written from; [n] cites sources[n - 1]. */
  sources: AskSource[];
  /** The sources the answer actually cites, in order of first citation. */
  citations?: AskSource[];
  /** The model that wrote the answer (absent when extractive). */
  model?: string;
  /** Why the answer is extractive: no LLM configured, its breaker is open, or it failed. */
  fallbackReason?: string;
}

export const ASK_RESULT_FIELDS = [
  "answer",
  "extractive",
  "conversationId",
  "sources",
  "citations",
  "model",
  "fallbackReason",
] as const satisfies readonly (keyof AskResult)[];
export const ASK_SOURCE_FIELDS = ["n", "path", "uri", "range", "snippet"] as const satisfies readonly (keyof AskSource)[];
export const ASK_ARGS_FIELDS = ["question", "conversationId", "k", "scope", "partialResultToken", "workDoneToken"] as const satisfies readonly (keyof AskArgs)[];
export const SUMMARIZE_RESULT_FIELDS = ["summary", "topics", "questions", "extractive", "sources", "model", "fallbackReason"] as const satisfies readonly (keyof SummarizeResult)[];
export const SEARCH_ARGS_FIELDS = ["query", "k", "path", "kind", "language", "root", "partialResultToken"] as const satisfies readonly (keyof SearchArgs)[];

// Each list above names every field of its type: a field added to a type and not to its list fails to compile.
type Missing<T, Fields extends readonly (keyof T)[]> = Exclude<keyof T, Fields[number]>;
type AssertNone<T extends never> = T;
export type FieldListsAreComplete = [
  AssertNone<Missing<SearchHit, typeof SEARCH_HIT_FIELDS>>,
  AssertNone<Missing<AskResult, typeof ASK_RESULT_FIELDS>>,
  AssertNone<Missing<AskSource, typeof ASK_SOURCE_FIELDS>>,
  AssertNone<Missing<AskArgs, typeof ASK_ARGS_FIELDS>>,
  AssertNone<Missing<SearchArgs, typeof SEARCH_ARGS_FIELDS>>,
  AssertNone<Missing<SummarizeResult, typeof SUMMARIZE_RESULT_FIELDS>>,
];

/** The argument of localmind.summarize (the Chat issue's command). */
export interface SummarizeArgs {
  uri: string;
}

export interface SummarizeResult {
  summary: string;
  topics: string[];
  questions: string[];
  extractive: boolean;
  sources: AskSource[];
  model?: string;
  fallbackReason?: string;
}

/**
 * Each command's argument, final result and (for commands that stream) partial result, paired: a command
 * name picks its types, so a call cannot send one command's argument or read another's result.
 */
export interface CommandTypes {
  "localmind.search": { args: SearchArgs; result: SearchHit[]; partial: SearchHit[] };
  "localmind.related": { args: RelatedArgs; result: SearchHit[]; partial: never };
  "localmind.reindex": { args: undefined; result: ReindexResult; partial: never };
  "localmind.status": { args: undefined; result: StatusResult; partial: never };
  "localmind.ask": { args: AskArgs; result: AskResult; partial: AskDelta };
  "localmind.summarize": { args: SummarizeArgs; result: SummarizeResult; partial: never };
}

export type CommandName = (typeof Commands)[keyof typeof Commands];
export type CommandArgs<C extends CommandName> = CommandTypes[C]["args"];
export type CommandResult<C extends CommandName> = CommandTypes[C]["result"];
export type CommandPartial<C extends CommandName> = CommandTypes[C]["partial"];
// Every command has its types, and every typed command is a command.
export type CommandTypesAreComplete = [
  AssertNone<Exclude<CommandName, keyof CommandTypes>>,
  AssertNone<Exclude<keyof CommandTypes, CommandName>>,
];

/** The longest question localmind.ask accepts. */
export const MAX_QUESTION_CHARS = 4000;
