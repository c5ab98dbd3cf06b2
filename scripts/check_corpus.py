#!/usr/bin/env python3
"""Checks the written corpus in training-data/{en,fr}/ and the real-news corpus in
training-data/real/ against the rules in their READMEs.

Written corpus (mirrored by tests/core/corpus_diversity.rs, which is what CI enforces):
  * every line is a JSON object with id, lang, title, text, labels
  * ids are unique; labels come from the taxonomy; `other` is never combined
  * no two documents share more than 30% of their word 5-gram shingles (Jaccard)
  * no sentence of 12 words or more appears twice in the whole corpus
  * per language: >= 60 docs per domain topic, >= 150 `other`, >= 15% of domain docs multi-label
  * per language and topic: >= 1,500 distinct word types
Real-news corpus (mirrored by tests/core/real_news_corpus.rs):
  * train/ and test/ {en,fr}.jsonl: id, lang, title, text, labels, source (listed in sources.json)
  * ids unique across splits; labels from the taxonomy; `other` alone; no text twice
  * no test document shares more than 30% of its word 5-gram shingles with a training document
  * annotations/ holds both passes of every document, once, with its final labels
  * per language: >= 1,200 documents, >= 250 in test
  (the frozen test split's hashes are checked by tests/core/real_news_corpus.rs only)
Unlabelled pool, training-data/real/unlabeled/{en,fr}.jsonl.gz (if present):
  * gzip JSONL; every record has id, lang, title, text, source (listed in sources.json)
    and no labels; ids unique, and none is a train or test id; no text is a labelled one
  * no pool text shares more than 30% of its word 5-gram shingles with a test text
Usage: python3 scripts/check_corpus.py [training-data]
"""
import gzip, json, re, sys, os, itertools
from collections import defaultdict, Counter

TOPICS = ["military_operations", "terrorist_attacks", "humanitarian_aid", "terrorist_financing",
          "foreign_terrorist_fighters", "stabilization", "counter_messaging", "law_enforcement",
          "diplomacy", "other"]
WORD = re.compile(r"\w+", re.UNICODE)
SENT = re.compile(r"[.!?…]+")

def words(s):
    return WORD.findall(s.lower())

def main(root):
    docs, errors = [], []
    for dirpath, dirs, files in os.walk(root):
        if os.path.normpath(dirpath) == os.path.normpath(root):
            dirs[:] = [d for d in dirs if d != "real"]  # checked by check_real()
        for f in sorted(files):
            if not f.endswith(".jsonl"):
                continue
            p = os.path.join(dirpath, f)
            for n, line in enumerate(open(p, encoding="utf-8"), 1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                except Exception as e:
                    errors.append(f"{p}:{n}: bad JSON: {e}"); continue
                for k in ("id", "lang", "title", "text", "labels"):
                    if k not in d:
                        errors.append(f"{p}:{n}: missing {k}")
                if any(l not in TOPICS for l in d.get("labels", [])):
                    errors.append(f"{p}:{n}: unknown label in {d.get('labels')}")
                if "other" in d.get("labels", []) and len(d["labels"]) > 1:
                    errors.append(f"{p}:{n}: other combined with another topic")
                d["_where"] = f"{p}:{n}"
                docs.append(d)
    ids = Counter(d.get("id") for d in docs)
    errors += [f"duplicate id {i}" for i, c in ids.items() if c > 1]
    # length
    for d in docs:
        nw = len(words(d.get("title", "") + " " + d.get("text", "")))
        if nw < 60 or nw > 250:
            errors.append(f"{d['_where']}: {nw} words (want 60-250)")
    # shingles
    sh = []
    for d in docs:
        w = words(d.get("text", ""))
        sh.append(set(tuple(w[i:i+5]) for i in range(len(w) - 4)))
    inv = defaultdict(list)
    for i, s in enumerate(sh):
        for g in s:
            inv[g].append(i)
    shared = Counter()
    for g, lst in inv.items():
        if len(lst) > 1:
            for a, b in itertools.combinations(lst, 2):
                shared[(a, b)] += 1
    for (a, b), c in shared.items():
        j = c / (len(sh[a]) + len(sh[b]) - c)
        if j > 0.30:
            errors.append(f"shingle Jaccard {j:.2f} between {docs[a]['id']} and {docs[b]['id']}")
    # sentences
    seen = {}
    for d in docs:
        for s in SENT.split(d.get("text", "")):
            w = words(s)
            if len(w) >= 12:
                k = " ".join(w)
                if k in seen and seen[k] != d["id"]:
                    errors.append(f"sentence repeated in {seen[k]} and {d['id']}: {k[:60]}...")
                seen.setdefault(k, d["id"])
    # counts and vocabulary
    for lang in sorted(set(d.get("lang") for d in docs)):
        ld = [d for d in docs if d.get("lang") == lang]
        dom = [d for d in ld if "other" not in d["labels"]]
        multi = sum(1 for d in dom if len(d["labels"]) >= 2)
        print(f"[{lang}] {len(ld)} docs, {len(dom)} domain, multi-label {multi} ({100*multi/max(1,len(dom)):.1f}%)")
        if dom and multi / len(dom) < 0.15:
            errors.append(f"[{lang}] only {100*multi/len(dom):.1f}% multi-label domain docs")
        for t in TOPICS:
            td = [d for d in ld if t in d["labels"]]
            types = set()
            for d in td:
                types.update(words(d["title"] + " " + d["text"]))
            need = 150 if t == "other" else 60
            short = len(td) < need or len(types) < 1500
            flag = "   <-- SHORT" if short else ""
            print(f"  {t:28s} docs={len(td):4d} (need {need})  types={len(types):5d} (need 1500){flag}")
            if short:
                errors.append(f"[{lang}] {t}: {len(td)} docs (need {need}), "
                              f"{len(types)} word types (need 1500)")
    real_dir = os.path.join(root, "real")
    if os.path.isdir(real_dir):
        errors += check_real(real_dir, docs)
    for e in errors[:200]:
        print("ERROR", e)
    print(f"{len(docs)} written documents, {len(errors)} problems")
    return 1 if errors else 0


def shingles(text):
    w = words(text)
    return set(tuple(w[i:i+5]) for i in range(len(w) - 4))


def check_real(real_dir, written):
    errors = []
    sources = {s["id"] for s in json.load(open(os.path.join(real_dir, "sources.json"), encoding="utf-8"))}
    docs = []
    for split in ("train", "test"):
        for lang in ("en", "fr"):
            p = os.path.join(real_dir, split, f"{lang}.jsonl")
            for n, line in enumerate(open(p, encoding="utf-8"), 1):
                if not line.strip():
                    continue
                d = json.loads(line)
                where = f"{p}:{n}"
                missing = [k for k in ("id", "lang", "title", "text", "labels", "source") if k not in d]
                if missing:
                    errors.append(f"{where}: missing {', '.join(missing)}")
                    continue
                if not d["text"].strip():
                    errors.append(f"{where}: empty text")
                if d.get("lang") != lang:
                    errors.append(f"{where}: lang is not {lang}")
                if d.get("source") not in sources:
                    errors.append(f"{where}: source {d.get('source')!r} not in sources.json")
                labels = d.get("labels", [])
                if not labels or len(set(labels)) != len(labels) or any(l not in TOPICS for l in labels):
                    errors.append(f"{where}: bad labels {labels}")
                if "other" in labels and len(labels) > 1:
                    errors.append(f"{where}: other combined with another topic")
                d["_split"] = split
                docs.append(d)
    ids = Counter(d["id"] for d in docs)
    errors += [f"real: duplicate id {i}" for i, c in ids.items() if c > 1]
    texts = Counter(" ".join(d["text"].split()) for d in docs)
    errors += [f"real: text repeated {c} times: {t[:60]}" for t, c in texts.items() if c > 1]
    train = [(d["id"], shingles(d["text"])) for d in docs if d["_split"] == "train"]
    train += [(d["id"], shingles(d.get("text", ""))) for d in written]
    inv = defaultdict(list)
    for k, (_, s) in enumerate(train):
        for g in s:
            inv[g].append(k)
    for d in docs:
        if d["_split"] != "test":
            continue
        s = shingles(d["text"])
        shared = Counter(k for g in s for k in inv.get(g, ()))
        for k, c in shared.items():
            if c / max(1, min(len(s), len(train[k][1]))) > 0.30:
                errors.append(f"real: test {d['id']} near-duplicates training {train[k][0]}")
    final = {}
    for lang in ("en", "fr"):
        for line in open(os.path.join(real_dir, "annotations", f"{lang}.jsonl"), encoding="utf-8"):
            a = json.loads(line)
            if not a.get("pass_a") or not a.get("pass_b"):
                errors.append(f"real: {a['id']} lacks a labelling pass")
            if a["id"] in final:
                errors.append(f"real: {a['id']} has two annotation lines")
            final[a["id"]] = a["final"]
    for d in docs:
        if final.get(d["id"]) != d["labels"]:
            errors.append(f"real: {d['id']} labels differ from annotations/")
    errors += check_pool(real_dir, sources, docs)
    for lang in ("en", "fr"):
        ld = [d for d in docs if d["lang"] == lang]
        test = sum(1 for d in ld if d["_split"] == "test")
        print(f"[real {lang}] {len(ld)} docs, {test} in test")
        if len(ld) < 1200 or test < 250:
            errors.append(f"real: [{lang}] {len(ld)} documents and {test} in test (want >= 1,200 and >= 250)")
        for t in TOPICS:
            tr = sum(1 for d in ld if t in d["labels"] and d["_split"] == "train")
            te = sum(1 for d in ld if t in d["labels"] and d["_split"] == "test")
            print(f"  {t:28s} train={tr:4d} test={te:4d}")
    return errors

def check_pool(real_dir, sources, docs):
    """The unlabelled pool: schema, ids apart from the labelled ones, nothing near a test text."""
    pool_dir = os.path.join(real_dir, "unlabeled")
    if not os.path.isdir(pool_dir):
        return []
    errors = []
    labelled_ids = {d["id"] for d in docs}
    labelled_text = {" ".join(d["text"].split()) for d in docs}
    test = [(d["id"], shingles(d["text"])) for d in docs if d["_split"] == "test"]
    inv = defaultdict(list)
    for k, (_, s) in enumerate(test):
        for g in s:
            inv[g].append(k)
    seen = set()
    for lang in ("en", "fr"):
        p = os.path.join(pool_dir, f"{lang}.jsonl.gz")
        if not os.path.exists(p):
            errors.append(f"pool: {p} missing")
            continue
        n = 0
        try:
            with gzip.open(p, "rt", encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    where = f"{p}:{n}"
                    try:
                        d = json.loads(line)
                    except Exception as e:
                        errors.append(f"{where}: bad JSON: {e}")
                        continue
                    missing = [k for k in ("id", "lang", "title", "text", "source") if k not in d]
                    if missing:
                        errors.append(f"{where}: missing {', '.join(missing)}")
                        continue
                    if "labels" in d:
                        errors.append(f"{where}: a pool record has labels")
                    if d["lang"] != lang:
                        errors.append(f"{where}: lang is not {lang}")
                    if d["source"] not in sources:
                        errors.append(f"{where}: source {d['source']!r} not in sources.json")
                    if not d["text"].strip():
                        errors.append(f"{where}: empty text")
                    if d["id"] in seen:
                        errors.append(f"pool: duplicate id {d['id']}")
                    seen.add(d["id"])
                    if d["id"] in labelled_ids:
                        errors.append(f"pool: {d['id']} is also a labelled (train/test) id")
                    if " ".join(d["text"].split()) in labelled_text:
                        errors.append(f"pool: {d['id']} repeats a labelled text")
                    s = shingles(d["text"])
                    shared = Counter(k for g in s for k in inv.get(g, ()))
                    for k, c in shared.items():
                        if c / max(1, min(len(s), len(test[k][1]))) > 0.30:
                            errors.append(f"pool: {d['id']} near-duplicates test {test[k][0]}")
        except (OSError, EOFError) as e:
            errors.append(f"{p}: unreadable gzip: {e}")
        print(f"[pool {lang}] {n} unlabelled documents")
    return errors


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "training-data"))
