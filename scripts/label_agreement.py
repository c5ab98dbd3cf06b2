#!/usr/bin/env python3
"""Agreement between the two independent labelling passes of the real-news corpus
(training-data/real/annotations/), per language, round and topic: F1 of one pass
against the other, and Cohen's kappa on the topic's yes/no decisions. Prints Markdown.
Round 1 was labelled with the guide's version 1, round 2 with version 2.

  python3 scripts/label_agreement.py [training-data/real]
"""
import json, os, sys


def table(rows, topics):
    n = len(rows)
    print("| topic | pass A | pass B | both | F1 (A vs B) | Cohen's kappa |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in topics:
        a = [t in r["pass_a"] for r in rows]
        b = [t in r["pass_b"] for r in rows]
        na, nb = sum(a), sum(b)
        both = sum(x and y for x, y in zip(a, b))
        po = sum(x == y for x, y in zip(a, b)) / n
        pe = (na / n) * (nb / n) + (1 - na / n) * (1 - nb / n)
        if na + nb == 0:
            # Neither pass used the topic: agreement is undefined, not perfect.
            print(f"| `{t}` | 0 | 0 | 0 | n/a | n/a |")
            continue
        kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
        f1 = 2 * both / (na + nb)
        print(f"| `{t}` | {na} | {nb} | {both} | {f1:.3f} | {kappa:.3f} |")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "training-data/real"
    topics = [t["id"] for t in json.load(open(os.path.join(root, "..", "topics.json"), encoding="utf-8"))]
    for lang in ("en", "fr"):
        with open(os.path.join(root, "annotations", f"{lang}.jsonl"), encoding="utf-8") as f:
            every = [json.loads(l) for l in f if l.strip()]
        for round_ in sorted({r.get("round", 1) for r in every}):
            rows = [r for r in every if r.get("round", 1) == round_]
            n = len(rows)
            exact = sum(set(r["pass_a"]) == set(r["pass_b"]) for r in rows)
            adjudicated = sum(r["adjudicated"] for r in rows)
            print(f"\n**{lang}, round {round_}**: {n} articles labelled twice; both passes gave the same set "
                  f"for {exact} ({exact / n:.1%}); {adjudicated} went to adjudication.\n")
            table(rows, topics)


if __name__ == "__main__":
    main()
