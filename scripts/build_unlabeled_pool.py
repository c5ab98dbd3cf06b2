#!/usr/bin/env python3
"""Builds the unlabelled real-news pool, training-data/real/unlabeled/{fr,en}.jsonl.gz,
for semi-supervised (EM) training: articles of the six sources of
training-data/real/sources.json, read at their pinned commits, cleaned and cut as
the labelled corpus was, minus everything the labelled corpus holds or nearly holds
and everything found in the evaluation benchmarks (../shared/datasets/).

Python 3 standard library only. The sources are bare git mirrors laid out as the
fetch tool leaves them: MIRROR_ROOT/<owner>+<name>/repo (default /work/.mirror).

  python3 scripts/build_unlabeled_pool.py [--mirror-root /work/.mirror]
      [--datasets ../shared/datasets] [--per-lang 8000] [--out training-data/real/unlabeled]

Output is byte-identical from run to run (sorted by id, gzip mtime 0, level 9).

Exclusion rules (an article is dropped by the first that applies, in this order):
  labelled-id    same id as a labelled (train or test) article
  labelled-text  same normalised text (lowercased \\w+ words) as a labelled article
  short          fewer than 15 words of text
  press-quote    White House posts that reprint or quote the press ("ICYMI", "What they are
                 saying/reading", "New York Times: ..."): the outlets' text, not a government work
  test-title     same normalised title as a test article (not applied to Wikipedia
                 items, whose "title" is the portal's story heading, shared by many items)
  test-near      shares more than 30% of its word 5-gram shingles with a test article
  train-near     same with a train article
  benchmark      normalised text, or any 50-word window, found in ../shared/datasets/*/*.jsonl
  pool-dup       same normalised text as an article already kept in the pool (lowest id kept)
  pool-near      (while sampling) more than 80% of its shingles shared with one article
                 already sampled, in the sampling order below
"30% of its shingles" is |A & B| / min(|A|, |B|) (the corpus's own near-duplicate
measure); it is never below the Jaccard index, so every pair above 0.30 Jaccard is
dropped too. Words are lowercased \\w+ runs. Survivors are sampled per language by
the lowest SHA-256 of their id (no keywords, no topics), then written sorted by id.
"""
import argparse, glob, gzip, hashlib, io, json, os, re, subprocess, sys, time, zipfile
from collections import Counter, defaultdict

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
REAL = os.path.join(ROOT, "training-data", "real")
WORD = re.compile(r"\w+")
MIN_WORDS = 15
NEAR = 0.30
POOL_DUP = 0.80
WINDOW = 50
GZ_LEVEL = 9


# ---------------------------------------------------------------- git access

class Repo:
    def __init__(self, mirror_root, repository, commit):
        self.git_dir = os.path.join(mirror_root, repository.replace("/", "+"), "repo")
        self.commit = commit
        self.oids = {}
        if not os.path.isdir(self.git_dir):
            sys.exit(f"no mirror of {repository} at {self.git_dir} (fetch github:{repository})")
        r = subprocess.run(["git", "--git-dir", self.git_dir, "cat-file", "-e", commit + "^{commit}"],
                           capture_output=True)
        if r.returncode != 0:
            sys.exit(f"{self.git_dir} lacks the pinned commit {commit}")

    def ls(self, *dirs):
        """Paths of the blobs under `dirs` at the pinned commit (remembering their ids)."""
        out = subprocess.run(["git", "--git-dir", self.git_dir, "ls-tree", "-r", "-z", self.commit, "--"]
                             + list(dirs), capture_output=True, check=True).stdout
        paths = []
        for rec in out.split(b"\0"):
            if rec:
                meta, path = rec.split(b"\t", 1)
                mode, kind, oid = meta.split()
                if kind == b"blob":
                    path = path.decode("utf-8")
                    self.oids[path] = oid.decode()
                    paths.append(path)
        return paths

    def read(self, paths):
        """[(path, bytes)] for the given paths at the pinned commit, in order."""
        if not paths:
            return []
        for p in paths:
            if p not in self.oids:
                self.ls(p)
        req = "".join(self.oids[p] + "\n" for p in paths).encode()
        data = subprocess.run(["git", "--git-dir", self.git_dir, "cat-file", "--batch"],
                              input=req, capture_output=True, check=True).stdout
        out, pos = [], 0
        for p in paths:
            nl = data.index(b"\n", pos)
            hdr = data[pos:nl].split()
            if hdr[-1] == b"missing":  # absent from the snapshot (e.g. a file of 4 MiB or more)
                print(f"warning: {p} is missing from {self.git_dir}", file=sys.stderr)
                pos = nl + 1
                continue
            size = int(hdr[2])
            out.append((p, data[nl + 1:nl + 1 + size]))
            pos = nl + 1 + size + 1
        return out


# ---------------------------------------------------------------- cleaning shared with the labelled corpus

def squash(s):
    return re.sub(r"\s+", " ", s).strip()


def cut_at_sentence(text, limit, keep_upto=None):
    """A text of more than `keep_upto` (default `limit`) words becomes its first `limit`
    words, back to the last . ! or ? followed by a space (as the labelled corpus was cut)."""
    w = text.split()
    if len(w) <= (keep_upto or limit):
        return text
    s = " ".join(w[:limit])
    ends = list(re.finditer(r"[.!?](?=\s)", s))
    return s[:ends[-1].end()] if ends else s


def md_to_text(s):
    s = re.sub(r'!\[[^\]]*\]\([^)]*\)', ' ', s)
    s = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', s)
    s = re.sub(r'<[^>]+>', ' ', s)
    s = re.sub(r'^\s{0,3}#{1,6}\s*', '', s, flags=re.M)
    s = re.sub(r'^\s*[-*+]\s+', '', s, flags=re.M)
    s = s.replace('**', '').replace('__', '')
    s = re.sub(r'(?<!\w)\*(?!\s)([^*\n]+?)\*(?!\w)', r'\1', s)
    s = s.replace('&nbsp;', ' ').replace('&amp;', '&').replace('&quot;', '"').replace('&#39;', "'")
    return s


def paragraphs(s):
    ps = [re.sub(r'\s+', ' ', p).strip() for p in re.split(r'\n\s*\n', s)]
    return [p for p in ps if p]


def front_matter(raw):
    m = re.match(r'^---\n(.*?)\n---\n(.*)$', raw, re.S)
    return (m.group(1), m.group(2)) if m else (None, raw)


_YAML_ESC = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
             "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
             "_": "\xa0", "L": "\u2028", "P": "\u2029"}


def _yaml_escape(m):
    e = m.group(1)
    if len(e) > 1:
        return chr(int(e[1:], 16))
    return _YAML_ESC.get(e, "\\" + e)


def yaml_scalar(fm, key):
    """The value of a top-level `key:` in simple YAML front matter: plain, 'single' or
    "double" quoted, possibly folded over indented continuation lines."""
    lines = fm.split("\n")
    for k, line in enumerate(lines):
        m = re.match(rf"^{re.escape(key)}:(.*)$", line)
        if not m:
            continue
        parts = [m.group(1)]
        for nxt in lines[k + 1:]:
            if nxt.startswith((" ", "\t")) or nxt == "":
                parts.append(nxt)
            else:
                break
        while parts and parts[-1] == "":
            parts.pop()
        # fold: a line break between lines is a space, an empty line a newline
        # (in double quotes, a backslash at the end of a line joins it to the next with nothing)
        quoted = parts[0].strip().startswith('"')
        folded, glue = "", False
        for i, p in enumerate(parts):
            p = p.strip()
            if p == "":
                folded += "\n"
            elif glue or not folded or folded.endswith("\n"):
                folded += p
            else:
                folded += " " + p
            glue = quoted and bool(re.search(r'(?<!\\)(\\\\)*\\$', folded))
            if glue:
                folded = folded[:-1]
        v = folded
        if v.startswith("'") and v.endswith("'") and len(v) >= 2:
            return v[1:-1].replace("''", "'")
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            return re.sub(r'\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)', _yaml_escape, v[1:-1])
        return v
    return ""


def orangesum(repo):
    """title; text = lead + body, sentence spacing mended; over 1,200 words, cut at a sentence end
    within the first 1,200 (the rule of training-data/real/README.md)."""
    def fix(t):
        t = re.sub(r'([a-zàâçéèêëîïôûùüÿœ0-9\)»"%])\.([A-ZÀÂÇÉÈÊËÎÏÔÛÙÜŸŒ«"])', r'\1. \2', t)
        return squash(t)
    paths = [p for p in repo.ls("data/docs/parsed") if p.endswith(".json")]
    for p, blob in repo.read(paths):
        d = json.loads(blob.decode("utf-8"))
        body = fix((d.get("heading", d.get("abstract", "")) + " " + d.get("article", "")).strip())
        if len(body.split()) < 40:
            continue
        body = cut_at_sentence(body, 1200)
        yield {"id": "orangesum-" + os.path.basename(p)[:-5], "title": d.get("title", ""), "text": body}


def fr_wikinews(repo):
    (_, blob), = repo.read(["datasets/WikiNews.zip"])
    z = zipfile.ZipFile(io.BytesIO(blob))
    for name in sorted(n for n in z.namelist() if re.match(r"^WKC/docsutf8/[^/]+\.txt$", n)):
        lines = [l.strip() for l in z.read(name).decode("utf-8").split("\n") if l.strip()]
        if not lines:
            continue
        title = lines[0]
        text = squash(" ".join(l for l in lines[1:] if l != title))
        yield {"id": "frwikinews-" + os.path.basename(name)[:-4], "title": title, "text": text}


def wikipedia_current_events(repo):
    """Leaf items of the portal's daily pages: links and [(Source)] citations removed,
    12 words or more, each distinct (lowercased) item once; title = parent items."""
    def clean(s):
        s = re.sub(r'\[\(([^\]]*)\)\]\([^)]*\)', '', s)
        s = re.sub(r'\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)', r'\1', s)
        s = s.replace('*', '').replace('\\', '')
        return squash(s)
    paths = [p for p in repo.ls("docs/_posts") if p.endswith(".md")]
    seen, k = set(), 0
    for p, blob in repo.read(paths):
        date = os.path.basename(p)[:10]
        stack = []
        lines = blob.decode("utf-8").split("\n")
        for n, l in enumerate(lines):
            if l.startswith("####"):
                stack = []
                continue
            m = re.match(r'^(\s*)\* (.*)', l)
            if not m:
                continue
            depth = len(m.group(1)) // 2
            txt = clean(m.group(2))
            stack = stack[:depth] + [txt]
            nxt = lines[n + 1] if n + 1 < len(lines) else ""
            mn = re.match(r'^(\s*)\* ', nxt)
            if not (mn and len(mn.group(1)) // 2 > depth) and len(txt.split()) >= 12:
                if txt.lower() in seen:
                    continue
                seen.add(txt.lower())
                yield {"id": f"wikicurrent-{date}-{k}", "title": " — ".join(stack[:-1]), "text": txt}
                k += 1


def muc34(repo):
    for split in ("train", "dev", "test"):
        (_, blob), = repo.read([f"data/muc/processed/{split}.json"])
        for line in blob.decode("utf-8").split("\n"):
            if line.strip():
                d = json.loads(line)
                yield {"id": "muc-" + d["docid"].lower(), "title": "", "text": squash(d["doctext"])}


def us_treasury(repo):
    short = {"content/news/press-releases": "pr", "content/news/featured-stories": "fs"}
    paths = [p for d in short for p in repo.ls(d) if p.endswith(".md")]
    for p, blob in repo.read(paths):
        fm, body = front_matter(blob.decode("utf-8", "replace"))
        if fm is None:
            continue
        m = re.search(r'^title:\s*(.*)$', fm, re.M)
        title = m.group(1).strip().strip('"\'') if m else ''
        body = body.replace('*(Archived Content)*', '')
        paras = [q for q in paragraphs(md_to_text(body)) if q != '###' and
                 not re.match(r'^(###|View the|Click here|For more information|Identifying information)', q)]
        if sum(len(q.split()) for q in paras) < 40:
            continue
        yield {"id": f"treasury-{short[os.path.dirname(p)]}-{os.path.basename(p)[:-3]}",
               "title": title, "text": cut_at_sentence(squash(" ".join(paras).replace("\u200b", " ")), 350)}


def us_white_house(repo):
    short = {"statements-releases": "sr", "briefings-statements": "bs", "fact-sheets": "fs", "releases": "rel"}
    paths = [p for p in repo.ls(*short) if p.endswith((".md", ".txt"))]
    for p, blob in repo.read(paths):
        fm, body = front_matter(blob.decode("utf-8", "replace"))
        title = yaml_scalar(fm, "title").replace('\\_', ' ') if fm is not None else ""
        body = body.replace('\\###', '').replace('\\[', '[').replace('\\]', ']')
        paras = [q for q in paragraphs(md_to_text(body)) if not q.startswith('###')]
        if sum(len(q.split()) for q in paras) < 40 or re.match(r'(?i)what they are saying', title):
            continue
        stem = os.path.splitext(os.path.basename(p))[0]
        yield {"id": f"whitehouse-{short[p.split('/')[0]]}-{stem}", "title": title,
               "text": cut_at_sentence(squash(" ".join(paras).replace("\u200b", " ")), 350)}


# White House posts that reprint or quote the press at length (round-ups, "ICYMI", "From The
# New York Times: ..."): that text is the outlets' copyright, not a government work.
MEDIA_TITLE = re.compile(r"(?i)\b(ICYMI|in case you missed it|what they are (saying|reading|writing))\b")
MEDIA_QUOTE = re.compile(
    r"\b(New York Times|Washington Post|Wall Street Journal|CNN|Fox News|Fox Business|Bloomberg|Reuters|"
    r"Associated Press|Politico|POLITICO|Axios|USA Today|The Hill|Breitbart|New York Post|Daily Caller|"
    r"Washington Examiner|NBC News|CBS News|ABC News|Newsweek|Forbes|CNBC|Financial Times|Daily Wire|"
    r"Federalist|National Review|Washington Times|Los Angeles Times|Chicago Tribune|Boston Globe|"
    r"Just the News|Daily Signal|Townhall|Free Beacon)\*?\s*(\([^)]*\))?\s*:")


def media_reprint(d):
    return d["source"] == "us-white-house" and bool(MEDIA_TITLE.search(d["title"]) or MEDIA_QUOTE.search(d["text"]))


READERS = {"orangesum": orangesum, "fr-wikinews": fr_wikinews,
           "wikipedia-current-events": wikipedia_current_events, "muc34": muc34,
           "us-treasury": us_treasury, "us-white-house": us_white_house}


# ---------------------------------------------------------------- comparisons

def words(s):
    return WORD.findall(s.lower())


def norm(s):
    return " ".join(words(s))


def h64(s):
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")


def shingles(text):
    w = words(text)
    return {" ".join(w[i:i + 5]) for i in range(len(w) - 4)}


class WindowHasher:
    """Rolling hashes of every 50-word window of a text (64-bit, stable across runs)."""
    M = (1 << 64) - 1
    P = 1000003

    def __init__(self):
        self.ids = {}
        self.top = pow(self.P, WINDOW - 1, 1 << 64)

    def __call__(self, text):
        ids = self.ids
        v = [ids.get(x) or ids.setdefault(x, h64(x) | 1) for x in words(text)]
        if len(v) < WINDOW:
            return []
        P, M, top = self.P, self.M, self.top
        h = 0
        for x in v[:WINDOW]:
            h = (h * P + x) & M
        out = [h]
        for i in range(WINDOW, len(v)):
            h = ((h - v[i - WINDOW] * top) * P + v[i]) & M
            out.append(h)
        return out


def load_labelled():
    docs = []
    for split in ("train", "test"):
        for lang in ("en", "fr"):
            for line in open(os.path.join(REAL, split, f"{lang}.jsonl"), encoding="utf-8"):
                if line.strip():
                    d = json.loads(line)
                    d["_split"] = split
                    docs.append(d)
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirror-root", default="/work/.mirror")
    ap.add_argument("--datasets", default=os.path.join(ROOT, "..", "shared", "datasets"))
    ap.add_argument("--per-lang", type=int, default=8000)
    ap.add_argument("--out", default=os.path.join(REAL, "unlabeled"))
    ap.add_argument("--summary", help="also write the counts as JSON to this file")
    a = ap.parse_args()
    t0 = time.time()
    sources = json.load(open(os.path.join(REAL, "sources.json"), encoding="utf-8"))

    # the labelled corpus
    lab = load_labelled()
    lab_ids = {d["id"] for d in lab}
    lab_text = {norm(d["text"]) for d in lab}
    test_titles = {norm(d["title"]) for d in lab if d["_split"] == "test" and norm(d["title"])}
    lab_sh = [shingles(d["text"]) for d in lab]
    inv = defaultdict(list)
    for k, s in enumerate(lab_sh):
        for g in s:
            inv[g].append(k)
    print(f"labelled: {len(lab)} articles, {len(inv)} distinct shingles indexed", file=sys.stderr)

    # the benchmarks reserved for evaluation
    wh = WindowHasher()
    bench_text, bench_win, nbench = set(), set(), 0
    files = sorted(glob.glob(os.path.join(a.datasets, "*", "*.jsonl")))
    if not files:
        sys.exit(f"no benchmark files under {a.datasets}")
    for p in files:
        for line in open(p, encoding="utf-8"):
            if line.strip():
                t = json.loads(line).get("text") or ""
                bench_text.add(norm(t))
                bench_win.update(wh(t))
                nbench += 1
    print(f"benchmarks: {len(files)} files, {nbench} texts, {len(bench_win)} 50-word windows "
          f"({time.time() - t0:.0f}s)", file=sys.stderr)

    # read, clean and filter every source
    rules = ["labelled-id", "labelled-text", "short", "press-quote", "test-title", "test-near", "train-near", "benchmark", "pool-dup", "pool-near"]
    drops = defaultdict(Counter)
    also_jaccard = Counter()
    heading_as_test = 0
    read = Counter()
    kept = {"en": [], "fr": []}
    pool_text = {}
    for src in sources:
        repo = Repo(a.mirror_root, src["repository"], src["commit"])
        n0 = time.time()
        cands = sorted(READERS[src["id"]](repo), key=lambda d: d["id"])
        for d in cands:
            read[src["id"]] += 1
            d = {"id": d["id"], "lang": src["lang"], "title": d["title"], "text": d["text"], "source": src["id"]}
            nt = norm(d["text"])
            why = None
            if d["id"] in lab_ids:
                why = "labelled-id"
            elif nt in lab_text:
                why = "labelled-text"
            elif len(d["text"].split()) < MIN_WORDS:
                why = "short"
            elif media_reprint(d):
                why = "press-quote"
            elif src["id"] != "wikipedia-current-events" and norm(d["title"]) in test_titles:
                why = "test-title"
            else:
                if norm(d["title"]) in test_titles:
                    heading_as_test += 1
                s = shingles(d["text"])
                shared = Counter(k for g in s for k in inv.get(g, ()))
                worst = {"test": 0.0, "train": 0.0}
                jac = {"test": 0.0, "train": 0.0}
                for k, c in shared.items():
                    sp = lab[k]["_split"]
                    worst[sp] = max(worst[sp], c / max(1, min(len(s), len(lab_sh[k]))))
                    jac[sp] = max(jac[sp], c / max(1, len(s) + len(lab_sh[k]) - c))
                for sp in ("test", "train"):
                    if jac[sp] > NEAR:
                        also_jaccard[f"{src['id']} {sp}"] += 1
                if worst["test"] > NEAR:
                    why = "test-near"
                elif worst["train"] > NEAR:
                    why = "train-near"
                elif nt in bench_text or norm(d["title"] + " " + d["text"]) in bench_text \
                        or any(h in bench_win for h in wh(d["text"])):
                    why = "benchmark"
                elif nt in pool_text:
                    why = "pool-dup"
            if why:
                drops[src["id"]][why] += 1
                continue
            pool_text[nt] = d["id"]
            kept[src["lang"]].append(d)
        print(f"{src['id']}: {read[src['id']]} read, {sum(drops[src['id']].values())} dropped "
              f"{dict(drops[src['id']])} ({time.time() - n0:.0f}s)", file=sys.stderr)

    # sample and write
    os.makedirs(a.out, exist_ok=True)
    summary = {"per_lang": a.per_lang, "sources": {}, "files": {}}
    for lang in ("fr", "en"):
        docs = sorted(kept[lang], key=lambda d: hashlib.sha256(d["id"].encode("utf-8")).hexdigest())
        # walk in that order; skip an article whose text is more than 80% made of the
        # shingles of one already taken (OrangeSum's updated versions of one story)
        chosen, taken_sh, pinv = [], [], defaultdict(list)
        for d in docs:
            if len(chosen) == a.per_lang:
                break
            s = shingles(d["text"])
            shared = Counter(k for g in s for k in pinv.get(g, ()))
            if any(c / max(1, min(len(s), len(taken_sh[k]))) > POOL_DUP for k, c in shared.items()):
                drops[d["source"]]["pool-near"] += 1
                continue
            for g in s:
                pinv[g].append(len(chosen))
            taken_sh.append(s)
            chosen.append(d)
        chosen.sort(key=lambda d: d["id"])
        buf = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in chosen).encode("utf-8")
        path = os.path.join(a.out, f"{lang}.jsonl.gz")
        with open(path, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZ_LEVEL, mtime=0) as gz:
                gz.write(buf)
        sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
        summary["files"][f"{lang}.jsonl.gz"] = {"documents": len(chosen), "eligible": len(docs),
                                               "bytes": os.path.getsize(path), "sha256": sha}
        in_pool = Counter(d["source"] for d in chosen)
        for src in sources:
            if src["lang"] == lang:
                s = src["id"]
                summary["sources"][s] = {"read": read[s], "dropped": dict(drops[s]),
                                         "eligible": sum(1 for d in docs if d["source"] == s),
                                         "in_pool": in_pool[s]}
    summary["jaccard_over_0.30"] = dict(also_jaccard)
    for s, v in summary["sources"].items():
        print(f"{s:26s} read {v['read']:6d}  " + "  ".join(f"{r} {v['dropped'].get(r, 0)}" for r in rules)
              + f"  eligible {v['eligible']:6d}  in pool {v['in_pool']:5d}")
    for f, v in summary["files"].items():
        print(f"{f}: {v['documents']} documents (of {v['eligible']} eligible), {v['bytes']} bytes, sha256 {v['sha256']}")
    summary["heading_as_test"] = heading_as_test
    print(f"articles with shingle Jaccard > 0.30 against a test / train article (all dropped by the "
          f"containment rule, which catches more): {dict(sorted(also_jaccard.items()))}")
    print(f"Wikipedia items whose story heading is a test item's (kept: a heading is not an article title): "
          f"{heading_as_test}")
    if a.summary:
        with open(a.summary, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
            f.write("\n")
    print(f"{time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
