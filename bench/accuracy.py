#!/usr/bin/env python3
"""Public-data benchmark: docclass against scikit-learn Naive Bayes baselines
and fastText, on the same splits, in the same run. Writes docs/BENCHMARKS.md.

Run it through `bash bench/accuracy.sh` (which makes the venv with the pinned
baselines and builds the docclass release binaries); `--help` lists options.

Protocols (issue 6):
  * 20 Newsgroups: the by-date split, train -> test.
  * Reuters-21578 ModApte R90: train -> test, multi-label, documents with
    `in_r90` true, labels restricted to the 90 R90 categories.
  * AG News (test set), BBC News, MasakhaNEWS fra and eng: stratified k-fold
    CV (k=5) with a fixed seed. Exact duplicate texts are removed first. The
    fold assignment is made once here and written as per-fold train/test JSONL
    files, so every system sees exactly the same folds.

docclass is driven through its binaries only: `docclass-train` on the train
part, `docclass-eval --json` on the test part. Nothing is tuned on a test
part: docclass's flags come from DOCCLASS_FLAGS below (to be chosen by CV on
training data only), and the baselines use the fixed settings the issue names.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# --------------------------------------------------------------------------
# Settings. Change docclass's flags here; they are printed in the report.
# Single-label sets decide by argmax, which needs no thresholds, hence
# --no-validation; Reuters is multi-label and needs per-topic thresholds,
# which docclass-train tunes by 5-fold CV inside the training part.
# --------------------------------------------------------------------------
# `--languages` states the corpus language (not a tuned setting): it keeps
# language detection from sending tables of figures or all-caps headlines to
# the wrong stemmer. 20 Newsgroups' flags were chosen by 3-fold CV on the
# *train* split only (`docclass-eval --cv 3 --seed 1 -i train.jsonl
# --no-validation FLAGS`: accuracy 0.9242 vs 0.9165 for `--no-stem` alone;
# grid over alpha 0.05-0.5, min_df 1-2, stemming, stop words).
#
# The CV sets (AG News, BBC, MasakhaNEWS) have no training split of their own
# to choose flags on, and choosing flags on their outer CV folds would tune on
# test data. They all get the same TUNE flags instead: docclass-train picks
# alpha and min_df by 5-fold CV inside each outer fold's *training* part (the
# tuning table is in each fold's docclass-train.log with --keep-work). That
# these flags are worth having was checked the same way, by nested CV on
# outer-fold training parts only (`docclass-eval --cv 5 -i splitK/train.jsonl
# FLAGS`, K = 0, 1; see docs/BENCHMARKS.md, "How it is measured").
# MasakhaNEWS English also tunes the weighting (sublinear or raw TF), chosen the
# same way on all five of its outer-fold training parts; on the other CV sets'
# training parts that flag gave nothing, so they keep TUNE alone.
TUNE = ["--tune-alpha", "0.05,0.1,0.2,0.5,1", "--tune-min-df", "1,2"]
DOCCLASS_FLAGS: dict[str, list[str]] = {
    "20newsgroups": ["--no-validation", "--languages", "en", "--no-stem", "--alpha", "0.2", "--min-df", "1"],
    "reuters21578": ["--folds", "5", "--languages", "en"],
    "ag_news": ["--no-validation", "--languages", "en", *TUNE],
    "bbc_news": ["--no-validation", "--languages", "en", *TUNE],
    "masakhanews_fra": ["--no-validation", "--languages", "fr", *TUNE],
    "masakhanews_eng": ["--no-validation", "--languages", "en", *TUNE, "--tune-weighting", "log+idf+l2,idf+l2"],
}

SEED = 42  # fold assignment, fastText seed and line shuffle
CV_FOLDS = 5
CREATED_AT = "2026-01-01T00:00:00Z"  # fixed, so identical inputs give identical models
FASTTEXT_PARAMS = dict(wordNgrams=2, epoch=25, lr=0.5)  # the issue's settings
FASTTEXT_THREADS = 1  # one thread: deterministic, and like the other systems
FASTTEXT_MULTILABEL_THRESHOLD = 0.5  # Reuters: loss='ova', labels with p >= 0.5

# Targets from issue 6: (dataset, metric) -> minimum for docclass.
TARGETS: dict[str, list[tuple[str, float]]] = {
    "20newsgroups": [("accuracy", 0.86)],
    "reuters21578": [("micro_f1", 0.82), ("macro_f1", 0.45)],
    "ag_news": [("accuracy", 0.895)],
    "bbc_news": [("accuracy", 0.98)],
    "masakhanews_fra": [("accuracy", 0.85), ("macro_f1", 0.75)],
    "masakhanews_eng": [("accuracy", 0.89)],
}
# The issue's "best scikit-learn NB measured" column, for reference.
ISSUE_BASELINES = {
    "20newsgroups": "0.844 accuracy (TfIdf(1,2)+CNB)",
    "reuters21578": "0.764 / 0.139 micro / macro-F1 (OvR MNB)",
    "ag_news": "0.883 accuracy",
    "bbc_news": "0.973 accuracy (with duplicates)",
    "masakhanews_fra": "0.830 / 0.682 accuracy / macro-F1",
    "masakhanews_eng": "0.874 accuracy",
}
SPEED_TRAIN_RATIO = 10.0  # docclass train time <= 1/10 of scikit-learn's
SPEED_PREDICT_RATIO = 20.0  # docclass predict throughput >= 20x scikit-learn's

R90 = (
    "acq alum barley bop carcass castor-oil cocoa coconut coconut-oil coffee "
    "copper copra-cake corn cotton cotton-oil cpi cpu crude dfl dlr dmk earn "
    "fuel gas gnp gold grain groundnut groundnut-oil heat hog housing income "
    "instal-debt interest ipi iron-steel jet jobs l-cattle lead lei lin-oil "
    "livestock lumber meal-feed money-fx money-supply naphtha nat-gas nickel "
    "nkr nzdlr oat oilseed orange palladium palm-oil palmkernel pet-chem "
    "platinum potato propane rand rape-oil rapeseed reserves retail rice "
    "rubber rye ship silver sorghum soy-meal soy-oil soybean strategic-metal "
    "sugar sun-meal sun-oil sunseed tea tin trade veg-oil wheat wpi yen zinc"
).split()

DOCCLASS = "docclass"
SK_COUNT_MNB = "sklearn CountVectorizer + MultinomialNB"
SK_TFIDF_CNB = "sklearn Tfidf(1,2) + ComplementNB"
SK_TFIDF_MNB = "sklearn Tfidf(1,2) + MultinomialNB(alpha=0.1)"
FASTTEXT = "fastText (wordNgrams=2, epoch=25, lr=0.5)"
SKLEARN_SYSTEMS = [SK_COUNT_MNB, SK_TFIDF_CNB, SK_TFIDF_MNB]
SYSTEMS = [DOCCLASS, *SKLEARN_SYSTEMS, FASTTEXT]


LOAD_SAMPLES: list[float] = []


def sample_load() -> None:
    """Keep the 1-minute load average, to tell whether other work shared the machine."""
    try:
        LOAD_SAMPLES.append(float(open("/proc/loadavg").read().split()[0]))
    except (OSError, ValueError, IndexError):
        pass


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------
class Dataset:
    """One benchmark set: either a fixed train/test split or a CV pool."""

    def __init__(self, key, title, files, protocol, multi_label=False):
        self.key = key
        self.title = title
        self.files = files  # relative to the datasets folder
        self.protocol = protocol  # "split" or "cv"
        self.multi_label = multi_label
        self.notes: list[str] = []
        self.train: list[dict] = []
        self.test: list[dict] = []
        self.pool: list[dict] = []
        self.labels: list[str] = []


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def slim(rec: dict, labels: list[str] | None = None) -> dict:
    # Only id, text, labels: no `title` (already inside `text` for every set
    # here) and no `lang` (docclass detects the language, as the baselines
    # get no hint either).
    return {"id": rec["id"], "text": rec["text"], "labels": list(labels if labels is not None else rec["labels"])}


def dedupe(recs: list[dict]) -> tuple[list[dict], int, int]:
    """Drop exact duplicate texts (after trimming), keeping the first.
    Returns (kept, removed, removed copies whose labels differed)."""
    seen: dict[str, list[str]] = {}
    kept, removed, conflicts = [], 0, 0
    for r in recs:
        k = r["text"].strip()
        if k in seen:
            removed += 1
            conflicts += seen[k] != r["labels"]
            continue
        seen[k] = r["labels"]
        kept.append(r)
    return kept, removed, conflicts


def load(ds: Dataset, root: Path) -> None:
    if ds.key == "20newsgroups":
        ds.train = [slim(r) for r in read_jsonl(root / ds.files[0])]
        ds.test = [slim(r) for r in read_jsonl(root / ds.files[1])]
        ds.labels = sorted({r["labels"][0] for r in ds.train})
        ds.notes.append(
            "Whole raw posts, headers, signatures and quotes included (as the "
            "dataset ships them; no `remove=` stripping)."
        )
    elif ds.key == "reuters21578":
        r90 = set(R90)
        rows = read_jsonl(root / ds.files[0])
        for r in rows:
            if not r.get("in_r90"):
                continue
            labs = sorted(set(r["labels"]) & r90)
            (ds.train if r["split"] == "train" else ds.test).append(slim(r, labs))
        ds.labels = sorted(r90)
        have_train = {l for r in ds.train for l in r["labels"]}
        have_test = {l for r in ds.test for l in r["labels"]}
        assert have_train == r90 and have_test == r90, "R90: every category needs a train and a test document"
        ds.notes.append(
            f"Documents with `in_r90` true only ({len(ds.train):,} train / {len(ds.test):,} test), "
            "labels restricted to the 90 R90 categories (each has at least one train and one test "
            "document); label sets of 1 to "
            f"{max(len(r['labels']) for r in ds.train + ds.test)} topics."
        )
    else:
        rows = read_jsonl(root / ds.files[0])
        kept, removed, conflicts = dedupe(rows)
        ds.pool = [slim(r) for r in kept]
        ds.labels = sorted({r["labels"][0] for r in ds.pool})
        msg = f"{len(rows):,} documents; {removed} exact duplicate text(s) (after trimming) removed before splitting, leaving {len(kept):,}"
        if conflicts:
            msg += f" ({conflicts} of the removed copies had a different label than the kept one)"
        ds.notes.append(msg + ".")
        if ds.key.startswith("masakhanews"):
            ds.notes.append(
                "The source's dev and test files pooled (its train file is not available here), "
                "so this is not comparable with the MasakhaNEWS paper's train->test figures."
            )
        if ds.key == "ag_news":
            ds.notes.append(
                "The 7,600-document AG News test set only (its train set is not available here); "
                "text = title + description, corpus artifacts (` #36;`, `&lt;`, backslashes) left in."
            )


DATASETS = [
    Dataset("20newsgroups", "20 Newsgroups, by-date split",
            ["20newsgroups/20newsgroups_train.jsonl", "20newsgroups/20newsgroups_test.jsonl"], "split"),
    Dataset("reuters21578", "Reuters-21578 ModApte R90 (multi-label)",
            ["reuters21578/reuters21578_modapte.jsonl"], "split", multi_label=True),
    Dataset("ag_news", "AG News test set, stratified CV", ["ag_news/ag_news_test.jsonl"], "cv"),
    Dataset("bbc_news", "BBC News (exact duplicates removed), stratified CV", ["bbc_news/bbc_news.jsonl"], "cv"),
    Dataset("masakhanews_fra", "MasakhaNEWS French (dev + test), stratified CV",
            ["masakhanews/masakhanews_fra.jsonl"], "cv"),
    Dataset("masakhanews_eng", "MasakhaNEWS English (dev + test), stratified CV",
            ["masakhanews/masakhanews_eng.jsonl"], "cv"),
]


def make_splits(ds: Dataset, folds: int) -> list[tuple[list[dict], list[dict]]]:
    if ds.protocol == "split":
        return [(ds.train, ds.test)]
    from sklearn.model_selection import StratifiedKFold

    y = [r["labels"][0] for r in ds.pool]
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    out = []
    for tr, te in skf.split(y, y):
        out.append(([ds.pool[i] for i in tr], [ds.pool[i] for i in te]))
    return out


def write_jsonl(path: Path, recs: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------
# Systems
# --------------------------------------------------------------------------
def metrics(y_true, y_pred, labels, multi_label):
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    if multi_label:
        mlb = MultiLabelBinarizer(classes=labels)
        yt = mlb.fit_transform(y_true)
        yp = mlb.transform(y_pred)
        return {
            "accuracy": float(accuracy_score(yt, yp)),  # exact set match
            "macro_f1": float(f1_score(yt, yp, average="macro", zero_division=0)),
            "micro_f1": float(f1_score(yt, yp, average="micro", zero_division=0)),
        }
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(y_true, y_pred, labels=labels, average="micro", zero_division=0)),
    }


def run_sklearn(name, train, test, labels, multi_label):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.naive_bayes import ComplementNB, MultinomialNB
    from sklearn.preprocessing import MultiLabelBinarizer

    if name == SK_COUNT_MNB:
        vec, clf = CountVectorizer(), MultinomialNB()
    elif name == SK_TFIDF_CNB:
        vec, clf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2), ComplementNB()
    else:
        vec, clf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2), MultinomialNB(alpha=0.1)
    xtr = [r["text"] for r in train]
    xte = [r["text"] for r in test]
    if multi_label:
        mlb = MultiLabelBinarizer(classes=labels)
        ytr = mlb.fit_transform([r["labels"] for r in train])
        clf = OneVsRestClassifier(clf)
    else:
        ytr = [r["labels"][0] for r in train]
    t = time.perf_counter()
    clf.fit(vec.fit_transform(xtr), ytr)
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    pred = clf.predict(vec.transform(xte))
    pred_s = time.perf_counter() - t
    if multi_label:
        y_pred = [list(s) for s in mlb.inverse_transform(pred)]
        y_true = [r["labels"] for r in test]
    else:
        y_pred = list(pred)
        y_true = [r["labels"][0] for r in test]
    m = metrics(y_true, y_pred, labels, multi_label)
    m.update(train_s=train_s, predict_dps=len(test) / max(pred_s, 1e-9))
    return m


_FT_TOKEN = re.compile(r"\w+|[^\w\s]")


def ft_text(text: str) -> str:
    # fastText splits on whitespace only and reads one document per line:
    # lowercase, split punctuation off words, one line per document.
    return " ".join(_FT_TOKEN.findall(text.lower()))


def run_fasttext(train, test, labels, multi_label, work: Path):
    import fasttext

    lines = [
        " ".join("__label__" + l for l in r["labels"]) + " " + ft_text(r["text"]) for r in train
    ]
    random.Random(SEED).shuffle(lines)  # fastText's SGD needs shuffled input
    path = work / "fasttext_train.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    params = dict(FASTTEXT_PARAMS, thread=FASTTEXT_THREADS, seed=SEED, verbose=0)
    if multi_label:
        params["loss"] = "ova"
    t = time.perf_counter()
    model = fasttext.train_supervised(input=str(path), **params)
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    texts = [ft_text(r["text"]) for r in test]
    if multi_label:
        got, _ = model.predict(texts, k=-1, threshold=FASTTEXT_MULTILABEL_THRESHOLD)
        y_pred = [[l[len("__label__"):] for l in ls] for ls in got]
    else:
        got, _ = model.predict(texts, k=1)
        y_pred = [ls[0][len("__label__"):] for ls in got]
    pred_s = time.perf_counter() - t
    y_true = [r["labels"] for r in test] if multi_label else [r["labels"][0] for r in test]
    m = metrics(y_true, y_pred, labels, multi_label)
    m.update(train_s=train_s, predict_dps=len(test) / max(pred_s, 1e-9))
    return m


def docclass_commands(bin_dir: Path, flags, train_path, test_path, model_path):
    train_cmd = [str(bin_dir / "docclass-train"), "-i", str(train_path), "-o", str(model_path),
                 "--created-at", CREATED_AT, *flags]
    eval_cmd = [str(bin_dir / "docclass-eval"), "-m", str(model_path), "-i", str(test_path)]
    return train_cmd, eval_cmd


_DOCS_PER_S = re.compile(r"([0-9][0-9.]*)\s+docs/s")


def run_docclass(bin_dir: Path, flags, train_path: Path, test_path: Path, work: Path, n_test: int):
    model_path = work / "docclass.model"
    train_cmd, eval_cmd = docclass_commands(bin_dir, flags, train_path, test_path, model_path)
    with open(work / "docclass-train.log", "w") as out:
        t = time.perf_counter()
        subprocess.run(train_cmd, check=True, stdout=out, stderr=subprocess.STDOUT)
        train_s = time.perf_counter() - t
    t = time.perf_counter()
    res = subprocess.run([*eval_cmd, "--json"], check=True, capture_output=True, text=True)
    eval_wall_s = time.perf_counter() - t
    report = json.loads(res.stdout)
    # docclass-eval's text mode prints the throughput of its classification
    # loop (model loaded, data read); use it, else fall back to process wall time.
    text = subprocess.run(eval_cmd, check=True, capture_output=True, text=True).stdout
    (work / "docclass-eval.txt").write_text(text)
    found = _DOCS_PER_S.search(text)
    dps = float(found.group(1)) if found else n_test / eval_wall_s
    # With --tune-*, the summary's starred row is the candidate inner CV chose.
    tuned = None
    for line in (work / "docclass-train.log").read_text().splitlines():
        if line.startswith("* "):
            f = line[2:].split()
            tuned = f"{f[0]}, alpha {f[1]}, min_df {f[2]}, {f[3]} (inner CV {f[4]})"
    return {
        "tuned": tuned,
        "accuracy": float(report["accuracy"]),
        "macro_f1": float(report["macro_f1"]),
        "micro_f1": float(report["micro_f1"]),
        "train_s": train_s,
        "predict_dps": dps,
        "predict_dps_source": "docclass-eval" if found else "wall",
        "eval_process_dps": n_test / eval_wall_s,
    }


# --------------------------------------------------------------------------
# Machine and versions
# --------------------------------------------------------------------------
def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "ram": mem, "os": f"{platform.system()} {platform.release()}"}


def versions(bin_dir: Path) -> dict:
    import fasttext  # noqa: F401
    import numpy
    import scipy
    import sklearn
    from importlib.metadata import version

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "unknown"

    def sha(p: Path) -> str:
        import hashlib

        return hashlib.sha256(p.read_bytes()).hexdigest()[:16]

    return {
        "docclass": out([str(bin_dir / "docclass-train"), "--version"])
        + f" (release build; sha256 docclass-train {sha(bin_dir / 'docclass-train')}…, "
        f"docclass-eval {sha(bin_dir / 'docclass-eval')}…)",
        "rustc": out(["rustc", "--version"]),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "fasttext-wheel": version("fasttext-wheel"),
    }


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def mean(xs):
    return statistics.fmean(xs)


def aggregate(per_fold: list[dict]) -> dict:
    agg = {}
    for k in ("accuracy", "macro_f1", "micro_f1", "train_s", "predict_dps"):
        vals = [f[k] for f in per_fold]
        agg[k] = mean(vals)
        agg[k + "_sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
    if "eval_process_dps" in per_fold[0]:
        agg["eval_process_dps"] = mean([f["eval_process_dps"] for f in per_fold])
    if any(f.get("tuned") for f in per_fold):
        agg["tuned"] = [f.get("tuned") or "-" for f in per_fold]
    return agg


def fmt_metric(agg, k, cv):
    if cv:
        return f"{agg[k]:.4f} ± {agg[k + '_sd']:.4f}"
    return f"{agg[k]:.4f}"


def fmt_s(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def fmt_dps(x):
    return f"{x:,.0f}"


METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "micro_f1": "micro-F1"}


def _header_section(a, results, args, started, folds, now):
    """The title, how the report was made, and whether it is a quick run."""
    a("# Benchmarks on public news datasets")
    a("")
    a(f"Generated by `bash bench/accuracy.sh{' ' + ' '.join(args.passthrough) if args.passthrough else ''}` "
      f"on {now:%Y-%m-%d %H:%M} UTC; total run time {time.perf_counter() - started:.0f} s. "
      "Do not edit by hand: re-run the script. docclass and every baseline run on the same "
      "splits in the same run; the datasets are in `../shared/datasets/` (see each folder's README).")
    if args.quick:
        a("")
        a(f"**Quick run** (`--quick`): {', '.join(results)} only, {folds} folds. Not the full benchmark.")
    a("")


def _targets_section(a, results):
    """docclass against issue 6's accuracy targets."""
    a("## docclass against the targets of issue 6")
    a("")
    a("| dataset, protocol | metric | target | docclass | best scikit-learn NB here | fastText here | met? |")
    a("|---|---|---|---|---|---|---|")
    for key, r in results.items():
        ds = r["dataset"]
        for metric, target in TARGETS.get(key, []):
            dc = r["agg"][DOCCLASS][metric]
            best = max(SKLEARN_SYSTEMS, key=lambda s: r["agg"][s][metric])
            short = best.replace("sklearn ", "")
            a(f"| {ds.title} | {METRIC_NAMES[metric]} | ≥ {target} | **{dc:.4f}** | "
              f"{r['agg'][best][metric]:.4f} ({short}) | {r['agg'][FASTTEXT][metric]:.4f} | "
              f"{'met' if dc >= target else '**not met**'} |")
    a("")
    a("The issue's own baseline figures, for reference: " + "; ".join(
        f"{DATASETS_BY_KEY[k].title}: {ISSUE_BASELINES[k]}" for k in results) + ".")
    a("")


def _speed_section(a, results):
    """docclass's train time and predict throughput against scikit-learn's."""
    a("### Speed targets")
    a("")
    a(f"docclass's train time must be ≤ 1/{SPEED_TRAIN_RATIO:.0f} of scikit-learn's vectorize + fit time, and "
      f"its predict throughput ≥ {SPEED_PREDICT_RATIO:.0f}× scikit-learn's. Compared here with the *fastest* "
      "scikit-learn baseline on each set (the strictest reading), and with TfIdf(1,2) + ComplementNB "
      "(the baseline configured most like docclass's defaults: word 1–2-grams, sublinear TF-IDF, complement NB).")
    a("")
    a("| dataset | docclass train s | fastest sklearn train s | × | TfIdf+CNB train s | × | train target | "
      "docclass docs/s | fastest sklearn docs/s | × | TfIdf+CNB docs/s | × | predict target |")
    a("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key, r in results.items():
        g = r["agg"]
        dc = g[DOCCLASS]
        fast_train = min(SKLEARN_SYSTEMS, key=lambda s: g[s]["train_s"])
        fast_pred = max(SKLEARN_SYSTEMS, key=lambda s: g[s]["predict_dps"])
        tr_fast = g[fast_train]["train_s"] / dc["train_s"]
        tr_cnb = g[SK_TFIDF_CNB]["train_s"] / dc["train_s"]
        pr_fast = dc["predict_dps"] / g[fast_pred]["predict_dps"]
        pr_cnb = dc["predict_dps"] / g[SK_TFIDF_CNB]["predict_dps"]

        def verdict(x_fast, x_cnb, need):
            if x_fast >= need:
                return "met"
            if x_cnb >= need:
                return "met vs TfIdf+CNB only"
            return "**not met**"

        a(f"| {r['dataset'].title} | {fmt_s(dc['train_s'])} | {fmt_s(g[fast_train]['train_s'])} | "
          f"{tr_fast:.1f} | {fmt_s(g[SK_TFIDF_CNB]['train_s'])} | {tr_cnb:.1f} | "
          f"{verdict(tr_fast, tr_cnb, SPEED_TRAIN_RATIO)} | {fmt_dps(dc['predict_dps'])} | "
          f"{fmt_dps(g[fast_pred]['predict_dps'])} | {pr_fast:.1f} | {fmt_dps(g[SK_TFIDF_CNB]['predict_dps'])} | "
          f"{pr_cnb:.1f} | {verdict(pr_fast, pr_cnb, SPEED_PREDICT_RATIO)} |")
    a("")
    a("× = how many times faster docclass is (scikit-learn time ÷ docclass time; docclass docs/s ÷ "
      "scikit-learn docs/s).")
    a("")


def _per_dataset_section(a, results, folds, skipped):
    """One table per dataset, every system on the same splits."""
    a("## Results per dataset")
    a("")
    for key, r in results.items():
        ds = r["dataset"]
        cv = ds.protocol == "cv"
        a(f"### {ds.title}")
        a("")
        if cv:
            sizes = r["fold_sizes"]
            a(f"Stratified {folds}-fold CV (seed {SEED}), the same folds for every system; "
              f"train/test sizes per fold: {', '.join(f'{n1:,}/{n2:,}' for n1, n2 in sizes)}. "
              f"Figures are the **mean over the {folds} folds** (± sample standard deviation for "
              "accuracy and macro-F1; times and throughputs are means too).")
        else:
            n1, n2 = r["fold_sizes"][0]
            a(f"The dataset's own split: train {n1:,} → test {n2:,} documents.")
        for n in ds.notes:
            a("")
            a(n)
        a("")
        a(f"docclass flags: `{' '.join(DOCCLASS_FLAGS.get(key, [])) or '(defaults)'}`")
        a("")
        if "tuned" in r["agg"][DOCCLASS]:
            a("docclass's choice by inner 5-fold CV on each training part (NB variant, alpha, min_df, "
              "weighting; inner-CV accuracy): "
              + "; ".join(f"fold {i + 1}: {t}" for i, t in enumerate(r["agg"][DOCCLASS]["tuned"])) + ".")
            a("")
        if ds.multi_label:
            a("| system | exact-set accuracy | macro-F1 | micro-F1 | train s | predict docs/s |")
            a("|---|---|---|---|---|---|")
        else:
            a("| system | accuracy | macro-F1 | train s | predict docs/s |")
            a("|---|---|---|---|---|")
        for s in SYSTEMS:
            g = r["agg"][s]
            name = f"**{s}**" if s == DOCCLASS else s
            cells = [name, fmt_metric(g, "accuracy", cv), fmt_metric(g, "macro_f1", cv)]
            if ds.multi_label:
                cells.append(fmt_metric(g, "micro_f1", cv))
            cells += [fmt_s(g["train_s"]), fmt_dps(g["predict_dps"])]
            a("| " + " | ".join(cells) + " |")
        a("")
        dcg = r["agg"][DOCCLASS]
        a(f"docclass end to end (`docclass-eval --json` process wall time: start, model load, reading "
          f"and classifying the test file, metrics): {fmt_dps(dcg['eval_process_dps'])} docs/s.")
        a("")
    if skipped:
        a("### Skipped")
        a("")
        for s in skipped:
            a(f"- {s}")
        a("")


def _method_section(a, folds):
    """How each figure is measured."""
    a("## How it is measured")
    a("")
    a("- **Splits.** 20 Newsgroups: by-date train → test. Reuters-21578: ModApte train → test, R90 "
      "documents and labels (multi-label). The other sets: exact duplicate texts (after trimming "
      f"whitespace) removed, then scikit-learn `StratifiedKFold(n_splits={folds}, shuffle=True, "
      f"random_state={SEED})` over the labels, computed once; each fold's train and test parts are "
      "written as JSONL (`id`, `text`, `labels`) to a temporary folder, and every system reads those.")
    a("- **Nothing is tuned on a test part.** The baselines use the fixed settings named in issue 6. "
      "docclass uses the flags below. On the CV sets (AG News, BBC, MasakhaNEWS) they are the same "
      "`--tune-alpha 0.05,0.1,0.2,0.5,1 --tune-min-df 1,2` for every set: `docclass-train` itself "
      "chooses alpha and min_df by stratified 5-fold CV (seed 42) inside each outer fold's training "
      "part, so the outer test fold plays no part in the choice (the choices are listed per fold "
      "above). That these flags, and not others, are used was decided by nested CV on outer-fold "
      "*training* parts only (`docclass-eval --cv 5 --seed 42 --no-validation --languages en FLAGS "
      "-i splitK/train.jsonl`, K = the first two AG News and MasakhaNEWS English folds, with "
      "`--keep-work`): with the tuning flags, AG News 0.8872 / 0.8872 against 0.8844 / 0.8822 "
      "with defaults; MasakhaNEWS English 0.8829 / 0.8847 against 0.8794 / 0.8917 (a tie within "
      "noise). Also tried on those training parts and not adopted: adding `--tune-nb "
      "complement,multinomial` (AG News 0.8872 / 0.8863, MasakhaNEWS English unchanged) and "
      "`--no-stem` with the tuning flags (AG News 0.8870 / 0.8880: no gain); on AG News against the "
      "defaults or against alpha 0.5 with min_df 1: word trigrams, character 3-5-grams, keeping stop "
      "words, `--no-idf`, `--no-l2`, raw TF, `--min-token-chars 1` or 3, `--max-df 0.5` (none better "
      "than tuning alpha and min_df by more than noise). "
      "MasakhaNEWS English alone also gets `--tune-weighting log+idf+l2,idf+l2` (docclass-train "
      "chooses between sublinear and raw TF by the same inner CV; its long articles often prefer raw "
      "TF). Decided by nested CV on the training parts of all five outer folds, K = 1..5, each "
      "alone: 0.8864 / 0.8944 / 0.8794 / 0.8829 / 0.8768 (mean 0.8840) against 0.8829 / 0.8847 / "
      "0.8732 / 0.8776 / 0.8776 (mean 0.8792) with the tuning flags alone (better on four training parts, "
      "0.0008 lower on the fifth); the same flag on the other CV sets' training parts gave no gain (AG News "
      "mean 0.8887 against 0.8889, BBC 0.9771 against 0.9777, MasakhaNEWS French 0.8619 against "
      "0.8616), so they keep TUNE alone. Also tried on the five MasakhaNEWS English training parts "
      "(means, against 0.8792) and not adopted: all five weightings as candidates 0.8835, `--no-stem` "
      "0.8817, `--word-ngrams 1` 0.8785 or 3 0.8773, keeping stop words 0.8780, `--char-ngrams 3-5` "
      "0.8746, `--max-df 0.5` 0.8796, `--min-token-chars 3` 0.8798, `--tune-nb` unchanged, and text "
      "rewritten before training to test title handling and truncation (headline repeated 0.8817, "
      "headline words added as separate title terms 0.8817, first 150/300/600 words only 0.8609 / "
      "0.8748 / 0.8748). On the five AG News training parts (mean 0.8889 with TUNE): decoding the "
      "corpus artifacts (` #36;` and other `#NN;` codes, `&lt;`/`&gt;`/`&amp;`, `quot;`, backslashes) "
      "0.8886, the same and dropping the decoded HTML tags 0.8868, title repeated 0.8902, title words "
      "as separate title terms 0.8900, a wider alpha grid 0.1-2 0.8894 (no change worth a new "
      "analysis step: the corpus artifacts carry source information, and the title gains are within "
      "noise and far from the 0.895 target). "
      "20 Newsgroups keeps flags chosen by CV on "
"its train split; Reuters keeps its defaults with thresholds tuned inside the training part.")
    a("- **Metrics.** Accuracy (exact-set match for Reuters), macro-F1 over the dataset's topics (the 90 "
      "R90 topics for Reuters), micro-F1 (Reuters). docclass's figures are `docclass-eval --json`'s "
      "`accuracy`, `macro_f1` and `micro_f1`; the baselines' are scikit-learn's `accuracy_score` and "
      "`f1_score(..., zero_division=0)` on the same test documents.")
    a("- **Train time.** docclass: wall time of the whole `docclass-train` process (start, reading the "
      "JSONL, analysis, fit, validation where enabled, writing the model). scikit-learn: "
      "`vectorizer.fit_transform` + `classifier.fit` in process (texts already in memory). fastText: "
      "`fasttext.train_supervised` (which reads its training file).")
    a("- **Predict throughput** (test documents per second). docclass: the docs/s that `docclass-eval` "
      "prints, i.e. its classification loop over the test documents (model loaded, file read; one "
      "thread); the end-to-end process figure is given under each table. scikit-learn: "
      "`vectorizer.transform` + `classifier.predict` on the test texts. fastText: the same "
      "lowercase/punctuation preprocessing + `model.predict` on the list of texts.")
    a("- **Threads.** docclass's training and evaluation are single-threaded; fastText runs with "
      f"`thread={FASTTEXT_THREADS}` (deterministic with a fixed seed); scikit-learn's Naive Bayes is "
      "single-threaded.")
    a("")


def _systems_section(a):
    """Each system's configuration."""
    a("### Systems")
    a("")
    a("| system | configuration |")
    a("|---|---|")
    a(f"| docclass | `docclass-train -i TRAIN.jsonl -o MODEL --created-at {CREATED_AT} FLAGS` then "
      "`docclass-eval -m MODEL -i TEST.jsonl --json` (and once more without `--json` for its docs/s) |")
    a("| sklearn CountVectorizer + MultinomialNB | `CountVectorizer()` + `MultinomialNB()` (defaults; "
      "alpha=1.0) |")
    a("| sklearn Tfidf(1,2) + ComplementNB | `TfidfVectorizer(ngram_range=(1,2), sublinear_tf=True, "
      "min_df=2)` + `ComplementNB()` |")
    a("| sklearn Tfidf(1,2) + MultinomialNB(alpha=0.1) | the same vectorizer + `MultinomialNB(alpha=0.1)` |")
    a(f"| fastText | `fasttext.train_supervised(wordNgrams=2, epoch=25, lr=0.5, thread={FASTTEXT_THREADS}, "
      f"seed={SEED})` on training lines shuffled with `random.Random({SEED})`; text lowercased, punctuation "
      "split off words, one line per document; single-label: `predict(k=1)` |")
    a("")
    a("Reuters (multi-label): each scikit-learn classifier is wrapped in `OneVsRestClassifier`, "
      "labels through `MultiLabelBinarizer(classes=R90)`; a document gets every topic whose binary "
      "classifier says yes, possibly none. fastText uses `loss='ova'` (one-vs-all) and "
      f"`predict(k=-1, threshold={FASTTEXT_MULTILABEL_THRESHOLD})`: every topic with probability ≥ "
      f"{FASTTEXT_MULTILABEL_THRESHOLD}, possibly none. docclass decides with its per-topic "
      "thresholds, tuned by `docclass-train` on out-of-fold probabilities inside the training part "
      "(`--folds 5`).")
    a("")
    a("fastText runs with the issue's fixed settings, untuned (the issue also allows its autotune, "
      "which is not used here). On the smallest sets (MasakhaNEWS: about 500 French and 1,100 English training documents per "
      "fold) 25 epochs with word bigrams are few updates, and it underfits; its figures there say "
      "more about those settings than about fastText at its best.")
    a("")


def _commands_section(a, results):
    """docclass's flags per dataset, and the commands that reproduce a split."""
    a("### docclass flags (`DOCCLASS_FLAGS` at the top of `bench/accuracy.py`)")
    a("")
    a("| dataset | flags |")
    a("|---|---|")
    for k, v in DOCCLASS_FLAGS.items():
        a(f"| {k} | `{' '.join(v) or '(defaults)'}` |")
    a("")
    a("Every other option is `docclass-train`'s default (see `docclass-train --help`).")
    a("")
    a("### Commands")
    a("")
    a("```sh")
    a("bash bench/accuracy.sh            # the full benchmark; writes docs/BENCHMARKS.md")
    a("bash bench/accuracy.sh --quick    # BBC News, 2 folds: a smoke test for CI (prints; --out FILE keeps it)")
    a("```")
    a("")
    a("For each split or fold, with `$W` the per-split folder of the run's temporary directory:")
    a("")
    a("```sh")
    ex = next(iter(results))
    tc, ec = docclass_commands(Path("target/release"), DOCCLASS_FLAGS.get(ex, []), "$W/train.jsonl",
                               "$W/test.jsonl", "$W/docclass.model")
    a(" ".join(tc))
    a(" ".join(ec) + " --json")
    a(" ".join(ec) + "    # for the docs/s line")
    a("```")
    a("")


def _machine_section(a, info, vers, now):
    """The machine, its load during the run, and the versions."""
    a("## Machine and versions")
    a("")
    a(f"- CPU: {info['cpu']}, {info['nproc']} cores available (`nproc`)")
    a(f"- RAM: {info['ram']}")
    a(f"- OS: {info['os']}")
    if LOAD_SAMPLES:
        busy = max(LOAD_SAMPLES) > 1.5
        a(f"- 1-minute load average sampled between splits: min {min(LOAD_SAMPLES):.2f}, max "
          f"{max(LOAD_SAMPLES):.2f} (the benchmark itself keeps about one core busy)"
          + ("; **other work shared the machine during the run, so times and throughputs are noisy**"
             if busy else ""))
    for k, v in vers.items():
        a(f"- {k}: {v}")
    a(f"- date: {now:%Y-%m-%d}")
    a("")

def write_report(path: Path, results: dict, args, info: dict, vers: dict, skipped: list, started: float,
                 folds: int, bin_dir: Path) -> str:
    L: list[str] = []
    a = L.append
    now = dt.datetime.now(dt.timezone.utc)
    _header_section(a, results, args, started, folds, now)
    _targets_section(a, results)
    _speed_section(a, results)
    _per_dataset_section(a, results, folds, skipped)
    _method_section(a, folds)
    _systems_section(a)
    _commands_section(a, results)
    _machine_section(a, info, vers, now)
    text = "\n".join(L)
    # bench/em.py's section is its own: keep it.
    if path.exists():
        old = path.read_text(encoding="utf-8")
        begin, end = "<!-- semi-supervised:begin -->", "<!-- semi-supervised:end -->"
        if begin in old and end in old:
            text += "\n" + old[old.index(begin):old.index(end) + len(end)] + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


DATASETS_BY_KEY = {d.key: d for d in DATASETS}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="BBC News only, 2 folds (CI smoke); prints the report, writes it only with --out")
    ap.add_argument("--datasets-dir", default=os.environ.get("DOCCLASS_DATASETS", "../shared/datasets"))
    ap.add_argument("--only", action="append", choices=[d.key for d in DATASETS],
                    help="run only this dataset (repeatable)")
    ap.add_argument("--folds", type=int, default=None, help=f"CV folds (default {CV_FOLDS}; 2 with --quick)")
    ap.add_argument("--out", default=None, help="report path (default docs/BENCHMARKS.md; a temp file with --quick)")
    ap.add_argument("--raw-json", default=None, help="also write every per-fold figure here")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary folder of split files and models")
    args = ap.parse_args()
    # The options that change what is measured (not --out, --raw-json, --keep-work).
    args.passthrough = []
    argv = sys.argv[1:]
    skip_next = False
    for i, x in enumerate(argv):
        if skip_next:
            skip_next = False
            continue
        if x in ("--out", "--raw-json"):
            skip_next = True
            continue
        if x == "--keep-work" or x.startswith(("--out=", "--raw-json=")):
            continue
        args.passthrough.append(x)
    started = time.perf_counter()

    bin_dir = Path(os.environ.get("DOCCLASS_BIN_DIR", "target/release")).resolve()
    for b in ("docclass-train", "docclass-eval"):
        if not (bin_dir / b).exists():
            log(f"error: {bin_dir / b} not found; run through bash bench/accuracy.sh (it builds them)")
            return 1
    root = Path(args.datasets_dir)
    folds = args.folds or (2 if args.quick else CV_FOLDS)
    wanted = args.only or (["bbc_news"] if args.quick else [d.key for d in DATASETS])
    work = Path(tempfile.mkdtemp(prefix="docclass-bench-"))
    out = Path(args.out) if args.out else (work / "BENCHMARKS-quick.md" if args.quick else Path("docs/BENCHMARKS.md"))
    log(f"== bench: work folder {work}")

    results: dict[str, dict] = {}
    raw: dict[str, dict] = {}
    skipped: list[str] = []
    try:
        for ds in DATASETS:
            if ds.key not in wanted:
                continue
            missing = [f for f in ds.files if not (root / f).is_file()]
            if missing:
                msg = f"{ds.title}: skipped, {', '.join(str(root / f) for f in missing)} not found"
                log("== bench: " + msg)
                skipped.append(msg)
                continue
            log(f"== bench: {ds.title}")
            load(ds, root)
            for n in ds.notes:
                log(f"   {n}")
            splits = make_splits(ds, folds)
            per_system: dict[str, list[dict]] = {s: [] for s in SYSTEMS}
            sizes = []
            for i, (train, test) in enumerate(splits):
                sample_load()
                w = work / ds.key / f"split{i}"
                w.mkdir(parents=True)
                write_jsonl(w / "train.jsonl", train)
                write_jsonl(w / "test.jsonl", test)
                sizes.append((len(train), len(test)))
                label = f"fold {i + 1}/{len(splits)}" if ds.protocol == "cv" else "train->test"
                r = run_docclass(bin_dir, DOCCLASS_FLAGS.get(ds.key, []), w / "train.jsonl", w / "test.jsonl",
                                 w, len(test))
                per_system[DOCCLASS].append(r)
                log(f"   {label} {DOCCLASS}: acc {r['accuracy']:.4f} macroF1 {r['macro_f1']:.4f} "
                    f"microF1 {r['micro_f1']:.4f} train {r['train_s']:.2f}s {r['predict_dps']:.0f} docs/s")
                for s in SKLEARN_SYSTEMS:
                    r = run_sklearn(s, train, test, ds.labels, ds.multi_label)
                    per_system[s].append(r)
                    log(f"   {label} {s}: acc {r['accuracy']:.4f} macroF1 {r['macro_f1']:.4f} "
                        f"microF1 {r['micro_f1']:.4f} train {r['train_s']:.2f}s {r['predict_dps']:.0f} docs/s")
                r = run_fasttext(train, test, ds.labels, ds.multi_label, w)
                per_system[FASTTEXT].append(r)
                log(f"   {label} {FASTTEXT}: acc {r['accuracy']:.4f} macroF1 {r['macro_f1']:.4f} "
                    f"microF1 {r['micro_f1']:.4f} train {r['train_s']:.2f}s {r['predict_dps']:.0f} docs/s")
            results[ds.key] = {
                "dataset": ds,
                "fold_sizes": sizes,
                "agg": {s: aggregate(v) for s, v in per_system.items()},
            }
            raw[ds.key] = {"fold_sizes": sizes, "per_fold": per_system, "notes": ds.notes,
                           "docclass_flags": DOCCLASS_FLAGS.get(ds.key, [])}
        if not results:
            log("== bench: no dataset found; nothing to report (no report written)")
            return 0
        sample_load()
        info = machine_info()
        vers = versions(bin_dir)
        text = write_report(out, results, args, info, vers, skipped, started, folds, bin_dir)
        if args.raw_json:
            Path(args.raw_json).write_text(json.dumps({"machine": info, "versions": vers, "results": raw},
                                                      indent=1))
        print(text)
        if out.is_relative_to(work):
            log(f"== bench: report printed above (pass --out FILE to keep it) ({time.perf_counter() - started:.0f} s)")
        else:
            log(f"== bench: report written to {out} ({time.perf_counter() - started:.0f} s)")
        return 0
    finally:
        if args.keep_work:
            log(f"== bench: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
