#!/usr/bin/env python3
"""Cross-validation for choosing the default model's training flags.

Folds TARGET (for example the real-news train split) into K parts, stratified by
language and first label. For each part, trains with docclass-train on every
other part plus EXTRA (for example the written corpus, always in training) and
scores the held-out part with docclass-eval --predictions. Prints metrics over
the pooled out-of-fold decisions, per language, as JSON.

The frozen test split (training-data/real/test/) must never be given here: flags
are chosen on training data only.

  python3 scripts/real_news_cv.py --target training-data/real/train/*.jsonl \
      --extra training-data/en/*.jsonl training-data/fr/*.jsonl -- <docclass-train flags>
"""
import argparse, hashlib, json, os, random, subprocess, sys, tempfile
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release")


def read(paths):
    docs = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            docs += [json.loads(l) for l in f if l.strip()]
    return docs


def folds(docs, k, seed):
    by_stratum = defaultdict(list)
    for i, d in enumerate(docs):
        by_stratum[(d.get("lang"), d["labels"][0])].append(i)
    rnd = random.Random(seed)
    part = [0] * len(docs)
    for key in sorted(by_stratum):
        members = by_stratum[key]
        rnd.shuffle(members)
        for n, i in enumerate(members):
            part[i] = n % k
    return part


def metrics(pairs, topics):
    """sklearn-style: macro over topics present in gold or predictions."""
    tp, sup, pred = defaultdict(int), defaultdict(int), defaultdict(int)
    exact = 0
    for gold, got in pairs:
        g, p = set(gold), set(got)
        exact += g == p
        for t in g:
            sup[t] += 1
            tp[t] += t in p
        for t in p:
            pred[t] += 1
    per = {}
    for t in topics:
        if sup[t] or pred[t]:
            pr = tp[t] / pred[t] if pred[t] else 0.0
            rc = tp[t] / sup[t] if sup[t] else 0.0
            f1 = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
            per[t] = {"precision": pr, "recall": rc, "f1": f1, "support": sup[t]}
    macro = sum(m["f1"] for m in per.values()) / max(1, len(per))
    return {"documents": len(pairs), "macro_f1": macro, "accuracy": exact / max(1, len(pairs)), "per_topic": per}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", nargs="+", required=True)
    ap.add_argument("--extra", nargs="*", default=[])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("train_flags", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    flags = [f for f in a.train_flags if f != "--"]
    digest = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
    frozen = {digest(os.path.join(ROOT, "training-data/real/test", f"{lang}.jsonl")) for lang in ("en", "fr")}
    given = a.target + a.extra + [f for f in flags if os.path.isfile(f)]
    if any(digest(p) in frozen for p in given):
        sys.exit("refusing: the frozen test split is never used to choose flags")
    docs = read(a.target)
    part = folds(docs, a.folds, a.seed)
    topics = [t["id"] for t in json.load(open(os.path.join(ROOT, "training-data/topics.json")))]
    oof = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(a.folds):
            train = os.path.join(tmp, "train.jsonl")
            held = os.path.join(tmp, "held.jsonl")
            with open(train, "w", encoding="utf-8") as tr, open(held, "w", encoding="utf-8") as he:
                for d, p in zip(docs, part):
                    (he if p == k else tr).write(json.dumps(d, ensure_ascii=False) + "\n")
            model = os.path.join(tmp, "m.model")
            subprocess.run([os.path.join(BIN, "docclass-train"), "-q", "-i", *a.extra, train,
                            "-o", model, "--created-at", "2026-01-01T00:00:00Z", *flags], check=True)
            preds = os.path.join(tmp, "pred.jsonl")
            subprocess.run([os.path.join(BIN, "docclass-eval"), "-m", model, "-i", held, "--json",
                            "--predictions", preds], check=True, stdout=subprocess.DEVNULL)
            with open(preds, encoding="utf-8") as f:
                for line in f:
                    r = json.loads(line)
                    oof[r["id"]] = r["predicted"]
    out = {"flags": flags, "folds": a.folds, "seed": a.seed}
    for lang in sorted({d.get("lang") for d in docs}):
        out[lang] = metrics([(d["labels"], oof[d["id"]]) for d in docs if d.get("lang") == lang], topics)
    out["all"] = metrics([(d["labels"], oof[d["id"]]) for d in docs], topics)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
