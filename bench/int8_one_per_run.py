"""int8 one text per inference run against int8 and fp32 in batches of 16: speed and batch independence.

Run: .venv/bin/python bench/int8_one_per_run.py (about 2 minutes). Texts: 300 SciFact abstracts (cut at
1,200 characters, about 256 tokens), 150 of Local Mind's own source files (cut at 800 characters) and 150
short texts (the abstracts' first 60 characters). Each engine runs twice, interleaved; texts/s per pass.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from localmind.config import EmbeddingsSettings
from localmind.embeddings import OnnxEmbedder, load_embedder

ROOT = Path(__file__).resolve().parent.parent


def text_sets() -> dict[str, list[str]]:
    """The three sets, read from the shared SciFact corpus and this checkout's sources."""
    corpus = ROOT.parent / "shared/data/scifact/corpus.jsonl"
    docs = []
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            docs.append(f"{row.get('title', '')} {row.get('text', '')}"[:1200])
            if len(docs) == 300:
                break
    sources = sorted((ROOT / "server/localmind").rglob("*.py"))[:150]
    code = [path.read_text(encoding="utf-8")[:800] for path in sources]
    return {"passages": docs, "code": code, "short": [doc[:60] for doc in docs[:150]]}


class BatchedInt8(OnnxEmbedder):
    """int8 as it ran before one text per run: the same session, fed batches of batch_size texts."""

    @property
    def texts_per_run(self) -> int:
        return self.batch_size


def speed(embedder: OnnxEmbedder, texts: list[str]) -> float:
    began = time.perf_counter()
    embedder.embed_documents(texts)
    return len(texts) / (time.perf_counter() - began)


def main() -> None:
    sets = text_sets()
    one_per_run = load_embedder(EmbeddingsSettings(variant="int8", batch_size=16))
    batched = copy.copy(one_per_run)
    batched.__class__ = BatchedInt8
    fp32 = load_embedder(EmbeddingsSettings(variant="fp32", batch_size=16))
    engines = {"int8 one per run": one_per_run, "int8 batches of 16": batched, "fp32 batches of 16": fp32}
    for round_ in (1, 2):
        for name, embedder in engines.items():
            rates = ", ".join(f"{label} {speed(embedder, texts):.1f}/s" for label, texts in sets.items())
            print(f"pass {round_}  {name:20}  {rates}")
    texts = [text for group in sets.values() for text in group]
    alone = one_per_run.embed_documents(texts)
    reversed_ = one_per_run.embed_documents(texts[::-1])[::-1]
    print(f"int8 one per run, in two orders: min cosine {float((alone * reversed_).sum(axis=1).min()):.7f}")
    together = batched.embed_documents(texts)
    print(f"int8 one per run against batches of 16: min cosine {float((alone * together).sum(axis=1).min()):.5f}")


if __name__ == "__main__":
    main()
