#!/usr/bin/env python3
"""All the cores (bench/cores.sh): one thread against N on the same work, in
interleaved pairs, medians quoted.

- `docclass-bench in-process --threads N`: classification on N threads at
  once against one, and one thread against the "touch the text" floor;
- `docclass-train` on the 20 Newsgroups train split (training-data/ when the
  dataset is absent), `--threads 1` against `--threads N`, and the two model
  files compared byte for byte;
- `docclass-predict` on the benchmark documents repeated to a large file,
  `--threads 1` against `--threads N`, and against scikit-learn
  CountVectorizer + MultinomialNB bulk predict (bench/perf_baselines.py) when
  a venv with scikit-learn is given;
- `docclass-predict`'s peak RSS (`/usr/bin/time -f %M`) on a JSONL input of
  about --big-mb megabytes.

Writes its block into docs/PERFORMANCE.md between markers (bench/perf.sh
keeps the block when it rewrites the file).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import load_averages, write_block  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- cores:begin -->", "<!-- cores:end -->"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed(cmd):
    started = time.perf_counter()
    run(cmd)
    return time.perf_counter() - started


def pairs(repeats, one, many):
    """Interleaved runs: one thread, then N, `repeats` times; seconds each."""
    a, b = [], []
    for _ in range(repeats):
        a.append(one())
        b.append(many())
    return a, b


def pairwise_speedup(one, many):
    """The median of each pair's one-thread time over its N-thread time: the
    machine's drift between pairs cancels within a pair."""
    return statistics.median(x / y for x, y in zip(one, many))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("bin", type=Path, help="directory of the release binaries")
    ap.add_argument("--docs", type=Path, required=True, help="benchmark documents (JSONL)")
    ap.add_argument("--docs-source", default="")
    ap.add_argument("--train", type=Path, nargs="+", required=True, help="training corpus")
    ap.add_argument("--train-source", default="")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--copies", type=int, default=20, help="times the documents are repeated for docclass-predict")
    ap.add_argument("--big-mb", type=int, default=1024)
    ap.add_argument("--sklearn-python", help="a Python with scikit-learn and fasttext (perf.sh's venv)")
    ap.add_argument("--write", type=Path)
    a = ap.parse_args()
    n = a.threads
    model = ROOT / "models/default.model"
    load_before = load_averages()
    rows, notes = [], []

    def row(target, measured, ok):
        rows.append(f"| {target} | {measured} | {'**pass**' if ok else '**FAIL**'} |")

    with tempfile.TemporaryDirectory(prefix="docclass-cores.") as work:
        work = Path(work)
        # In-process: floor, one thread, N threads, in the same rounds.
        inproc = json.loads(run([str(a.bin / "docclass-bench"), "in-process", "--model", str(model),
                                 "--input", str(a.docs), "--runs", "5", "--threads", str(n),
                                 "--json"]).stdout)
        row(f"in-process classification on {n} threads ≥ 1.7× one thread",
            f"{inproc['classify_threads_docs_per_sec']:,.0f} vs {inproc['classify_docs_per_sec']:,.0f} docs/s "
            f"= {inproc['thread_scaling']:.2f}×", inproc["thread_scaling"] >= 1.7)
        row("in-process classification on one thread ≥ 50% of the floor",
            f"{inproc['classify_docs_per_sec']:,.0f} vs {inproc['floor_docs_per_sec']:,.0f} docs/s "
            f"= {inproc['classify_vs_floor']:.0%}", inproc["classify_vs_floor"] >= 0.5)

        # docclass-train, 1 thread against N; the models must be equal.
        def train(threads):
            out = work / f"train-{threads}.model"
            return lambda: timed([str(a.bin / "docclass-train"), "-q", "--threads", str(threads),
                                  "--created-at", "2026-01-01T00:00:00Z", "-o", str(out), "-i",
                                  *map(str, a.train)])
        t1, tn = pairs(a.repeats, train(1), train(n))
        same = (work / "train-1.model").read_bytes() == (work / f"train-{n}.model").read_bytes()
        ratio = pairwise_speedup(t1, tn)
        row(f"docclass-train on {a.train_source or 'the training corpus'}: {n} threads ≥ 1.7× one",
            f"{statistics.median(t1):.2f} s vs {statistics.median(tn):.2f} s, {ratio:.2f}× pair by pair; "
            f"model files {'byte-identical' if same else '**differ**'}", ratio >= 1.7 and same)
        notes.append(f"docclass-train seconds, one thread: {', '.join(f'{x:.2f}' for x in t1)}; "
                     f"{n} threads: {', '.join(f'{x:.2f}' for x in tn)}")

        # docclass-predict, 1 thread against N, on the documents repeated.
        lines = a.docs.read_text(encoding="utf-8").splitlines(keepends=True)
        big = work / "predict.jsonl"
        with open(big, "w", encoding="utf-8") as f:
            for _ in range(a.copies):
                f.writelines(lines)
        docs = len(lines) * a.copies

        def predict(threads, path=big):
            return lambda: timed([str(a.bin / "docclass-predict"), "-q", "-m", str(model), "--threads",
                                  str(threads), "-i", str(path), "-o", str(work / "out.jsonl")])
        p1, pn = pairs(a.repeats, predict(1), predict(n))
        p1_rate, pn_rate = docs / statistics.median(p1), docs / statistics.median(pn)
        speedup = pairwise_speedup(p1, pn)
        row(f"docclass-predict: {n} threads ≥ 1.7× one",
            f"{pn_rate:,.0f} vs {p1_rate:,.0f} docs/s, {speedup:.2f}× pair by pair ({docs:,} documents)",
            speedup >= 1.7)
        notes.append(f"docclass-predict seconds, one thread: {', '.join(f'{x:.2f}' for x in p1)}; "
                     f"{n} threads: {', '.join(f'{x:.2f}' for x in pn)}")
        if a.sklearn_python:
            base = json.loads(run([a.sklearn_python, str(ROOT / "bench/perf_baselines.py"), "--docs",
                                   str(a.docs), "--runs", "5"]).stdout)
            sk = pn_rate / base["sklearn_docs_per_sec"]
            row(f"docclass-predict on {n} threads ≥ 12× scikit-learn bulk predict",
                f"{sk:.1f}× ({base['sklearn_docs_per_sec']:,.0f} docs/s, one core, in memory)", sk >= 12)
        else:
            notes.append("scikit-learn comparison not run: no --sklearn-python given")

        # Peak RSS on a large input.
        big_copies = max(1, a.big_mb * 1_000_000 // max(1, big.stat().st_size))
        huge = work / "huge.jsonl"
        with open(huge, "wb") as f:
            chunk = big.read_bytes()
            for _ in range(big_copies):
                f.write(chunk)
        size_mb = huge.stat().st_size / 1e6
        out = run(["/usr/bin/time", "-f", "%M %e", str(a.bin / "docclass-predict"), "-q", "-m", str(model),
                   "--threads", str(n), "-i", str(huge), "-o", str(work / "huge-out.jsonl")])
        rss_kb, secs = out.stderr.strip().splitlines()[-1].split()
        rss_mb = int(rss_kb) / 1024
        row(f"docclass-predict peak RSS on a {size_mb:,.0f} MB JSONL input ≤ 100 MB",
            f"{rss_mb:.1f} MB ({float(secs):.1f} s, {n} threads)", rss_mb <= 100)

    load_after = load_averages()
    passed = sum("**pass**" in r for r in rows)
    block = f"""{BEGIN}

Written by `bash bench/cores.sh` ({time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}; release build, default
model). {n} threads against one, {a.repeats} interleaved pairs per figure: medians, and
for docclass-train and docclass-predict the median of the pairs' own ratios. Machine: {os.cpu_count()} CPUs,
load average before {load_before}, after {load_after}. Documents: {a.docs_source or a.docs}. Training corpus:
{a.train_source or ' '.join(map(str, a.train))}.

{passed} of {len(rows)} pass.

| target | measured | |
|---|---|---|
{chr(10).join(rows)}

{chr(10).join(f'- {n_}' for n_ in notes)}

{END}"""
    print(block)
    if a.write:
        write_block(a.write, "All the cores", BEGIN, END, block)


if __name__ == "__main__":
    main()
