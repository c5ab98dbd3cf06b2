#!/usr/bin/env python3
"""scikit-learn baseline for the core-engine accuracy target: 20 Newsgroups
by-date split, TfidfVectorizer(ngram_range=(1,2), sublinear_tf=True, min_df=2)
+ ComplementNB(), trained on `train`, scored on `test`.

Usage: python3 bench/sklearn_20ng.py [DATASET_DIR]
"""
import json, sys, time
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import ComplementNB
from sklearn.metrics import accuracy_score, f1_score

root = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/20newsgroups"
def load(name):
    rows = [json.loads(l) for l in open(f"{root}/{name}", encoding="utf-8")]
    return [r["text"] for r in rows], [r["labels"][0] for r in rows]
xtr, ytr = load("20newsgroups_train.jsonl")
xte, yte = load("20newsgroups_test.jsonl")
t = time.perf_counter()
vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
clf = ComplementNB().fit(vec.fit_transform(xtr), ytr)
fit_s = time.perf_counter() - t
t = time.perf_counter()
pred = clf.predict(vec.transform(xte))
pred_s = time.perf_counter() - t
print(f"sklearn TfidfVectorizer(1,2,sublinear,min_df=2)+ComplementNB: accuracy {accuracy_score(yte, pred):.4f} "
      f"macro-F1 {f1_score(yte, pred, average='macro'):.4f} fit {fit_s:.2f}s predict {pred_s:.2f}s")
