"""Embedding speed and memory: Local Mind (ONNX Runtime, fp32 and int8) against sentence-transformers.

Both sides embed identical SciFact texts with 2 threads, tokenisation included, in the same run:
Local Mind in this process, sentence-transformers in a long-lived st_worker.py in the reference venv.
A fourth engine is Local Mind's fp32 model written with standard ONNX operators only (the graph before
the fused transformer operators), so the fusion's gain is measured in the same run too. Passes alternate
between the engines so that load from other work on the machine hits all of them. The machine's matrix
multiplication peak (numpy and ONNX Runtime, 2 threads) is measured before and after, and each engine's
achieved GFLOP/s is set against it.

Local Mind's engines are bulk sessions, the ones `localmind index` and the language server's indexer embed
documents with (their threads spin between operators, as PyTorch's do); `--query-sessions` measures the
query sessions instead, whose threads sleep.

    .venv/bin/python bench/embed_speed.py [--quick] [--rounds N]

Results are printed and written to bench/results/embed_speed-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

from benchlib import (
    THREADS,
    StServer,
    document_text,
    machine,
    read_texts,
    save_results,
    scifact_corpus,
    st_command,
    write_texts,
)
from localmind.config import EmbeddingsSettings
from localmind.embeddings import BULK_PURPOSE, OnnxEmbedder, load_embedder, resolve_model_files
from localmind.embeddings.build_cache import ModelFiles
from localmind.embeddings.manifest import load_catalog
from localmind.embeddings.onnx_builder import build_bert_graph
from localmind.embeddings.source import source_folder

BATCH_SIZES = (1, 16, 64)
ENGINES = ("fp32", "int8", "st", "std")
RSS_ENGINES = ("fp32", "int8", "st")
ENGINE_NAMES = {
    "fp32": "Local Mind fp32",
    "int8": "Local Mind int8",
    "st": "sentence-transformers",
    "std": "LM fp32, standard ops",
}
MAX_TOKENS = 256
SHORT_TOKENS = (10, 30)
RSS_BATCH_SIZE = 16
PADDING_BATCH_SIZE = 16
WARMUP_TEXTS = 32
# Local Mind's speed-up over sentence-transformers that each input set and variant should reach.
TARGETS = {("short", "fp32"): 1.3, ("short", "int8"): 2.5, ("passages", "fp32"): 1.5, ("passages", "int8"): 2.5}
# A matrix product shaped like the encoder's feed-forward layer on 16 passages of 256 tokens.
PEAK_SHAPE = (4096, 384, 1536)
# One pass over 500 passages takes 10 to 50 s per configuration on 2 cores, so passages get two
# rounds (long passes average out short disturbances) and the quick short sentences get three.
FULL_SIZES: dict[str, Any] = {
    "short": 1000,
    "passages": 500,
    "rss_passages": 1000,
    "rounds": {"short": 3, "passages": 2},
}
QUICK_SIZES: dict[str, Any] = {
    "short": 200,
    "passages": 100,
    "rss_passages": 200,
    "rounds": {"short": 1, "passages": 1},
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


def model_tokenizer() -> Tokenizer:
    """The tokenizer of Local Mind's built model, without truncation, for choosing and measuring texts."""
    tokenizer = Tokenizer.from_file(str(resolve_model_files(EmbeddingsSettings()).tokenizer_path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def short_sentences(corpus: list[dict[str, str]], tokenizer: Tokenizer, count: int) -> list[str]:
    """The first sentence of each abstract, kept when it is 10 to 30 tokens long ([CLS] and [SEP] included)."""
    firsts = [_SENTENCE_END.split(doc["text"].strip(), maxsplit=1)[0] for doc in corpus]
    lengths = [len(e.ids) for e in tokenizer.encode_batch(firsts)]
    low, high = SHORT_TOKENS
    chosen = [text for text, n in zip(firsts, lengths, strict=True) if low <= n <= high]
    return _require(chosen, count, "short sentences")


def passages(corpus: list[dict[str, str]], tokenizer: Tokenizer, count: int) -> list[str]:
    """Title and abstract of documents of at least 256 tokens, cut after the word piece that makes 256."""
    texts = [document_text(doc) for doc in corpus]
    chosen = []
    for text, encoding in zip(texts, tokenizer.encode_batch(texts), strict=True):
        if len(encoding.ids) >= MAX_TOKENS:
            # Token MAX_TOKENS - 1 is [SEP]; the last word piece that fits ends at offsets[MAX_TOKENS - 2].
            chosen.append(text[: encoding.offsets[MAX_TOKENS - 2][1]])
    return _require(chosen, count, "passages")


def _require(texts: list[str], count: int, what: str) -> list[str]:
    if len(texts) < count:
        sys.exit(f"SciFact yields only {len(texts)} {what}; {count} are needed")
    return texts[:count]


# The purpose of Local Mind's sessions: bulk (indexing) unless --query-sessions.
session_purpose = BULK_PURPOSE


def load_local(variant: str, batch_size: int) -> OnnxEmbedder:
    settings = EmbeddingsSettings(variant=variant, batch_size=batch_size, intra_op_threads=THREADS, device="cpu")
    return load_embedder(settings, purpose=session_purpose)


def standard_model(workdir: Path) -> ModelFiles:
    """The fp32 encoder written with standard ONNX operators only, as the builder wrote it before fusion."""
    fused = resolve_model_files(EmbeddingsSettings(variant="fp32"))
    source = source_folder(fused.spec, EmbeddingsSettings().resolved_cache_dir())
    folder = workdir / "standard-model"
    folder.mkdir()
    graph = build_bert_graph(source / "model.safetensors", source / "config.json", "mean", True, fused=False)
    onnx.save(graph, str(folder / "model.onnx"))
    shutil.copyfile(fused.tokenizer_path, folder / "tokenizer.json")
    return ModelFiles(fused.spec, "fp32-standard", folder, built=True)


def load_standard(files: ModelFiles, batch_size: int) -> OnnxEmbedder:
    settings = EmbeddingsSettings(variant="fp32", batch_size=batch_size, intra_op_threads=THREADS, device="cpu")
    return OnnxEmbedder(files, settings, bulk=session_purpose == BULK_PURPOSE)


def time_local(embedder: OnnxEmbedder, texts: Sequence[str]) -> float:
    started = time.perf_counter()
    embedder.embed_documents(texts)
    return time.perf_counter() - started


def measure_speed(sets: dict[str, list[str]], rounds: dict[str, int], workdir: Path) -> dict[str, Any]:
    """Seconds per full pass for each set, batch size and engine; the engines' order rotates each round."""
    files = {name: write_texts(texts, workdir / f"{name}.jsonl") for name, texts in sets.items()}
    warm = {name: write_texts(texts[:WARMUP_TEXTS], workdir / f"{name}.warm.jsonl") for name, texts in sets.items()}
    local = {(v, bs): load_local(v, bs) for v in ("fp32", "int8") for bs in BATCH_SIZES}
    standard = standard_model(workdir)
    local |= {("std", bs): load_standard(standard, bs) for bs in BATCH_SIZES}
    st = StServer()
    seconds: dict[str, dict[str, dict[int, list[float]]]] = {
        name: {engine: {bs: [] for bs in BATCH_SIZES} for engine in ENGINES} for name in sets
    }

    def one_pass(engine: str, name: str, batch_size: int, warmup: bool) -> float:
        if engine == "st":
            return st.time_pass((warm if warmup else files)[name], batch_size)
        texts = sets[name][:WARMUP_TEXTS] if warmup else sets[name]
        return time_local(local[engine, batch_size], texts)

    try:
        for name in sets:
            for batch_size in BATCH_SIZES:
                for engine in ENGINES:
                    one_pass(engine, name, batch_size, warmup=True)
        for round_index in range(max(rounds.values())):
            shift = round_index % len(ENGINES)
            order = ENGINES[shift:] + ENGINES[:shift]
            for name in (name for name in sets if round_index < rounds[name]):
                for batch_size in BATCH_SIZES:
                    for engine in order:
                        seconds[name][engine][batch_size].append(one_pass(engine, name, batch_size, warmup=False))
                        print(".", end="", flush=True, file=sys.stderr)
    finally:
        st.close()
    print(file=sys.stderr)
    return {"seconds": seconds, "reference": st.info}


def chunks_per_s(seconds: dict[str, Any], sets: dict[str, list[str]], pick: Callable[[list[float]], float]) -> Any:
    """One pass of each configuration, chosen by pick (min: the fastest, the least disturbed), as texts per second."""
    return {
        name: {
            engine: {bs: len(sets[name]) / pick(runs) for bs, runs in by_bs.items()}
            for engine, by_bs in by_engine.items()
        }
        for name, by_engine in seconds.items()
    }


def ratios(rates: dict[str, Any]) -> dict[str, Any]:
    """Local Mind over sentence-transformers at each batch size, and best batch size against best."""
    out: dict[str, Any] = {}
    for name, by_engine in rates.items():
        reference = by_engine["st"]
        for variant in ("fp32", "int8"):
            mine = by_engine[variant]
            row: dict[str, Any] = {str(bs): mine[bs] / reference[bs] for bs in BATCH_SIZES}
            row["best"] = max(mine.values()) / max(reference.values())
            row["target"] = TARGETS[name, variant]
            out[f"{name}/{variant}"] = row
    return out


# Linux seeds a child's ru_maxrss with the peak of the process it was forked from, so a child of this
# (large) process would report at least this process's size. A tiny launcher starts each measured
# process instead and reports that process's own peak.
_RSS_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss_mib(command: list[str]) -> float:
    """The peak resident memory of a fresh process running command, in MiB."""
    launched = subprocess.run([sys.executable, "-c", _RSS_LAUNCHER, *command], capture_output=True, text=True)
    if launched.returncode != 0:
        raise RuntimeError(f"{command} exited with status {launched.returncode}: {launched.stderr[-2000:]}")
    return int(launched.stdout) / 1024  # Linux reports KiB.


def measure_rss(texts: list[str], workdir: Path) -> dict[str, dict[str, float]]:
    """Peak RSS of a process that loads each engine and embeds one passage, or every passage."""
    inputs = {"1 passage": texts[:1], f"{len(texts)} passages": texts}
    results: dict[str, dict[str, float]] = {engine: {} for engine in RSS_ENGINES}
    for label, chosen in inputs.items():
        path = write_texts(chosen, workdir / f"rss-{len(chosen)}.jsonl")
        for engine in RSS_ENGINES:
            if engine == "st":
                command = st_command("embed", "--texts", str(path), "--batch-size", str(RSS_BATCH_SIZE))
            else:
                command = [sys.executable, __file__, "--rss-child", engine, "--texts", str(path)]
            results[engine][label] = peak_rss_mib(command)
    return results


def rss_child(variant: str, texts_path: Path) -> None:
    """The process measured by measure_rss: load one variant, embed the texts, and exit."""
    vectors = load_local(variant, RSS_BATCH_SIZE).embed_documents(read_texts(texts_path))
    print(vectors.shape)


def padding_ratio(lengths: Sequence[int], batch_size: int, sort: bool) -> float:
    """Token positions the model computes (padding included) per real token."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__) if sort else list(range(len(lengths)))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    computed = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)
    return computed / sum(lengths)


def measure_padding(sets: dict[str, list[str]], tokenizer: Tokenizer) -> dict[str, dict[str, float]]:
    results = {}
    for name, texts in sets.items():
        lengths = [min(len(e.ids), MAX_TOKENS) for e in tokenizer.encode_batch(texts)]
        results[name] = {
            "texts": len(texts),
            "sorted": padding_ratio(lengths, PADDING_BATCH_SIZE, sort=True),
            "unsorted": padding_ratio(lengths, PADDING_BATCH_SIZE, sort=False),
        }
    return results


def print_speed(rates: dict[str, Any]) -> None:
    print(f"\nSpeed, chunks/s (fastest pass; {THREADS} threads each; tokenisation included)")
    header = f"{'set':<9} {'batch':>5} {'LM fp32':>9} {'LM int8':>9} {'ST':>9} {'LM std':>9}"
    print(f"{header} {'fp32/ST':>8} {'int8/ST':>8} {'fp32/std':>9}")
    for name, by_engine in rates.items():
        for bs in BATCH_SIZES:
            fp32, int8, st, std = (by_engine[e][bs] for e in ENGINES)
            cells = f"{name:<9} {bs:>5} {fp32:>9.1f} {int8:>9.1f} {st:>9.1f} {std:>9.1f}"
            print(f"{cells} {fp32 / st:>7.2f}× {int8 / st:>7.2f}× {fp32 / std:>8.2f}×")


def encoder_gflop(token_counts: Sequence[int], config: dict[str, Any]) -> float:
    """Multiply-adds of a BERT encoder over these texts, counted as 2 FLOPs each: the four attention projections,
    the feed-forward pair, and the attention scores and context (quadratic in length); embeddings and
    normalisations are negligible."""
    hidden, inner, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    per_layer = sum(2 * n * hidden * (4 * hidden + 2 * inner) + 4 * n * n * hidden for n in token_counts)
    return layers * per_layer / 1e9


def matmul_peak() -> dict[str, float]:
    """GFLOP/s of one fp32 matrix product of PEAK_SHAPE with 2 threads, best of 5, in numpy and in ONNX Runtime."""
    rows, inner, cols = PEAK_SHAPE
    rng = np.random.default_rng(0)
    left, right = rng.random((rows, inner), np.float32), rng.random((inner, cols), np.float32)
    flop = 2 * rows * inner * cols / 1e9
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["x", "w"], ["y"])],
        "peak",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [rows, inner])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [rows, cols])],
        [onnx.numpy_helper.from_array(right, "w")],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    with threadpool_limits(limits=THREADS):
        return {
            "numpy": flop / _best_of(5, lambda: left @ right),
            "onnxruntime": flop / _best_of(5, lambda: session.run(None, {"x": left})),
        }


def _best_of(times: int, work: Callable[[], object]) -> float:
    work()
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def achieved_gflops(rates: dict[str, Any], gflop_per_text: dict[str, float]) -> dict[str, Any]:
    """Each engine's useful work per second (real tokens only) at its best batch size."""
    return {
        name: {engine: max(by_bs.values()) * gflop_per_text[name] for engine, by_bs in by_engine.items()}
        for name, by_engine in rates.items()
    }


def print_gflops(achieved: dict[str, Any], peaks: list[dict[str, float]]) -> None:
    peak = max(max(p.values()) for p in peaks)
    measured = "; ".join(f"numpy {p['numpy']:.0f}, ONNX Runtime {p['onnxruntime']:.0f}" for p in peaks)
    print(f"\nAchieved GFLOP/s at the best batch size; matmul peak {PEAK_SHAPE} before / after: {measured}")
    print(f"{'set':<9}" + "".join(f"{ENGINE_NAMES[e]:>24}" for e in ENGINES))
    for name, by_engine in achieved.items():
        cells = "".join(f"{by_engine[e]:>14.0f} ({by_engine[e] / peak:>4.0%} pk)" for e in ENGINES)
        print(f"{name:<9}{cells}")


def print_ratios(ratio_rows: dict[str, Any]) -> None:
    print("\nRatios vs sentence-transformers (✓ = target met)")
    print(f"{'set/variant':<15} {'bs=1':>8} {'bs=16':>8} {'bs=64':>8} {'best/best':>10} {'target':>7}")
    for key, row in ratio_rows.items():
        cells = [_ratio_cell(row[str(bs)], row["target"]) for bs in BATCH_SIZES]
        best = _ratio_cell(row["best"], row["target"])
        target = f"≥{row['target']:.1f}×"
        print(f"{key:<15} {cells[0]:>8} {cells[1]:>8} {cells[2]:>8} {best:>10} {target:>7}")


def print_rss(rss: dict[str, Any]) -> None:
    labels = list(next(iter(rss.values())))
    print(f"\nPeak RSS of a fresh process, MiB (batch {RSS_BATCH_SIZE})")
    print(f"{'engine':<22}" + "".join(f"{label:>16}" for label in labels))
    for engine, row in rss.items():
        print(f"{ENGINE_NAMES[engine]:<22}" + "".join(f"{row[label]:>16.0f}" for label in labels))


def print_padding(padding: dict[str, Any]) -> None:
    print(f"\nPadding ratio at batch {PADDING_BATCH_SIZE}: computed token positions / real tokens")
    print(f"{'texts':<22} {'n':>6} {'length-sorted':>14} {'input order':>12}")
    for name, row in padding.items():
        print(f"{name:<22} {row['texts']:>6} {row['sorted']:>14.3f} {row['unsorted']:>12.3f}")


def _ratio_cell(value: float, target: float) -> str:
    return f"{value:.2f}{'✓' if value >= target else '✗'}"


def cpu_seconds() -> dict[str, float]:
    """Machine-wide busy and hypervisor-stolen CPU time so far, and this process tree's own CPU time."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    usages = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    own = sum(u.ru_utime + u.ru_stime for u in usages)
    return {"busy": (user + nice + system + irq + softirq) / tick, "steal": steal / tick, "own": own}


def other_load(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """How many cores, on average, other work and the hypervisor took while the bench ran."""
    other = (after["busy"] - before["busy"]) - (after["own"] - before["own"])
    return {"other_cores": max(other, 0.0) / wall, "stolen_cores": (after["steal"] - before["steal"]) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small inputs and one round: a smoke run")
    parser.add_argument("--rounds", type=int, help="timed passes per configuration for every set")
    parser.add_argument("--query-sessions", action="store_true", help="Local Mind's query sessions, not bulk ones")
    parser.add_argument("--rss-child", choices=["fp32", "int8"], help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global session_purpose
    session_purpose = "shared" if args.query_sessions else BULK_PURPOSE
    # A plain SIGTERM would skip the finally blocks that stop the sentence-transformers worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.rss_child:
        rss_child(args.rss_child, args.texts)
        return

    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    rounds = {name: args.rounds for name in sizes["rounds"]} if args.rounds else sizes["rounds"]
    started, cpu_before = time.perf_counter(), cpu_seconds()
    corpus = scifact_corpus()
    tokenizer = model_tokenizer()
    all_passages = passages(corpus, tokenizer, sizes["rss_passages"])
    sets = {"short": short_sentences(corpus, tokenizer, sizes["short"]), "passages": all_passages[: sizes["passages"]]}

    defaults = EmbeddingsSettings()
    source = source_folder(load_catalog().get(defaults.model), defaults.resolved_cache_dir())
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    gflop_per_text = {
        name: encoder_gflop([min(len(e.ids), MAX_TOKENS) for e in tokenizer.encode_batch(texts)], config) / len(texts)
        for name, texts in sets.items()
    }
    peaks = [matmul_peak()]
    with tempfile.TemporaryDirectory(prefix="localmind-bench-") as tmp:
        workdir = Path(tmp)
        padding = measure_padding({**sets, "SciFact documents": [document_text(d) for d in corpus]}, tokenizer)
        speed = measure_speed(sets, rounds, workdir)
        rss = measure_rss(all_passages, workdir)
    peaks.append(matmul_peak())

    # Other work on a shared machine only ever slows a pass down, so the fastest pass is the estimate.
    load = other_load(cpu_before, cpu_seconds(), time.perf_counter() - started)
    rates = chunks_per_s(speed["seconds"], sets, min)
    ratio_rows = ratios(rates)
    achieved = achieved_gflops(rates, gflop_per_text)
    print_speed(rates)
    print_ratios(ratio_rows)
    print_gflops(achieved, peaks)
    print_rss(rss)
    print_padding(padding)
    results = {
        "machine": {**machine(), **{k: v for k, v in speed["reference"].items() if k != "ready"}},
        "quick": args.quick,
        "session_purpose": session_purpose,
        "rounds": rounds,
        "sizes": {name: len(texts) for name, texts in sets.items()} | {"rss_passages": len(all_passages)},
        "seconds": speed["seconds"],
        "chunks_per_s": rates,
        "chunks_per_s_median": chunks_per_s(speed["seconds"], sets, statistics.median),
        "ratios": ratio_rows,
        "gflop_per_text": gflop_per_text,
        "achieved_gflops": achieved,
        "matmul_peak_gflops": peaks,
        "fused_over_standard": {
            name: {str(bs): by_engine["fp32"][bs] / by_engine["std"][bs] for bs in BATCH_SIZES}
            for name, by_engine in rates.items()
        },
        "peak_rss_mib": rss,
        "padding_ratio_batch16": padding,
        "wall_s": time.perf_counter() - started,
        "other_load": load,
    }
    print(f"\nwrote {save_results('embed_speed-quick' if args.quick else 'embed_speed', results)}")
    print(
        f"total {results['wall_s']:.0f} s; meanwhile other work used {load['other_cores']:.2f} of "
        f"{os.cpu_count()} cores on average and the hypervisor stole {load['stolen_cores']:.2f}"
    )


if __name__ == "__main__":
    main()
