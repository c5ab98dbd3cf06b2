#!/usr/bin/env python3
"""In-process Python baselines for bench/perf.sh: documents per second of
scikit-learn CountVectorizer + MultinomialNB bulk predict, and of fastText
predict, on the same documents docclass-bench in-process reads. Both are
trained on training-data/ (first label of each document); only prediction is
timed, median of --runs runs. fastText gets its input lowercased with
punctuation split off (as bench/accuracy.py feeds it) *before* the timer
starts, so its figure is predict alone; scikit-learn's transform does its own
tokenization inside the timer, as docclass does. Prints one JSON object.
"""

import argparse
import json
import random
import re
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FT_TOKEN = re.compile(r"\w+|[^\w\s]")


def ft_text(text):
    return " ".join(_FT_TOKEN.findall(text.lower()))


def read_jsonl(path):
    return [json.loads(l) for l in Path(path).read_text(encoding="utf-8").splitlines() if l.strip()]


def timed(runs, predict):
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        n = predict()
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates), rates


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", required=True, help="JSONL documents (field text)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--training-data", type=Path, default=ROOT / "training-data")
    args = ap.parse_args()

    import fasttext
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    docs = [r["text"] for r in read_jsonl(args.docs)]
    train = [r for p in sorted(args.training_data.glob("*/*.jsonl")) for r in read_jsonl(p)]
    texts = [r["text"] for r in train]
    labels = [r["labels"][0] for r in train]

    vectorizer = CountVectorizer()
    clf = MultinomialNB().fit(vectorizer.fit_transform(texts), labels)
    sk_median, sk_runs = timed(args.runs, lambda: len(clf.predict(vectorizer.transform(docs))))

    lines = [f"__label__{l} {ft_text(t)}" for t, l in zip(texts, labels)]
    random.Random(42).shuffle(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        ft = fasttext.train_supervised(input=str(path), wordNgrams=2, epoch=25, lr=0.5,
                                       thread=1, seed=42, verbose=0)
    ft_docs = [ft_text(d) for d in docs]
    ft_median, ft_runs = timed(args.runs, lambda: len(ft.predict(ft_docs, k=1)[0]))

    print(json.dumps({
        "documents": len(docs),
        "runs": args.runs,
        "sklearn_docs_per_sec": sk_median,
        "sklearn_runs": sk_runs,
        "fasttext_docs_per_sec": ft_median,
        "fasttext_runs": ft_runs,
        "versions": {p: version(p) for p in ("scikit-learn", "numpy", "fasttext-wheel")},
    }, indent=2))


if __name__ == "__main__":
    main()
