"""Where the soak's RSS goes: the soak's load with reloads and SIGHUPs as
often as asked, and the server's memory sampled per mapping.

    python3 bench/soak_rss.py BIN_DIR [--minutes 10] [--reload-every 3]
        [--sighup-every 0] [--no-load] [--no-streams] [--samples 6]
        [--capacity DOCS_PER_SEC] [--json OUT]

The load is bench/soak.py's (unary at 25 % of capacity, batches of 32 at
15 %, 4 open-loop streams at 10 %, each restarted every minute); reloads
alternate a.model and b.model (every fifth a truncated file, refused), as in
the soak, but every `--reload-every` seconds (0: none) instead of 30; a
SIGHUP every `--sighup-every` seconds (0: none). `--capacity` fixes the
rates (so that two runs compare), else it is measured as the soak does.

`--samples` times a minute it reads `/proc/PID/smaps` and sums RSS by kind
of mapping:

- heap: the main arena's `[heap]`;
- arenas: glibc's other arenas, anonymous read-write mappings at a 64 MiB
  boundary followed by their reserved (`---p`) rest; also listed one by one;
- stacks: anonymous mappings right after a guard page of at most 64 KiB;
- anon: every other anonymous mapping (mmapped blocks: model buffers, the
  per-thread token memos);
- file: file-backed mappings (the binary, libraries);

with the thread count, and whether a reload was in flight. Each minute's row
is the median of its samples taken with no reload in flight (a sample during
a reload reads high: two models are in memory). Minutes are of elapsed time:
on a loaded machine a round of load can take longer than 60 s, and the rows
then come later than their minutes.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

from benchlib import load_averages, proc_status_kb, stop_server
from soak import bench, reload, result, start_server, stream_load

ARENA_ALIGN = 64 << 20
HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$")
KINDS = ("heap", "arenas", "stacks", "anon", "file")
# glibc's arenas, walked by gdb (needs libc6-dbg): each one's size and
# threads, and which arena each thread uses.
ARENA_WALK = """set pagination off
set $a = &main_arena
set $n = 0
while $n < 64
  printf "arena %p system_mem %lu attached %lu top %lu\\n", $a, $a->system_mem, $a->attached_threads, ($a->top->mchunk_size & ~7)
  set $a = $a->next
  set $n = $n + 1
  if $a == &main_arena
    set $n = 64
  end
end
thread apply all -q p (void*)thread_arena
"""


def gdb(pid, work, trim=False):
    """The arena walk's output (and, with `trim`, that of malloc_trim(0) after
    it, with the RSS before and after); None when gdb is missing."""
    if not shutil.which("gdb"):
        return None
    script = os.path.join(work, "arenas.gdb")
    with open(script, "w") as f:
        f.write(ARENA_WALK + ("call (int)malloc_trim(0)\n" if trim else ""))
    before = proc_status_kb(pid, "VmRSS")
    out = subprocess.run(["gdb", "-p", str(pid), "-batch", "-x", script], capture_output=True, text=True,
                         timeout=120).stdout
    lines = [line for line in out.splitlines() if line.startswith(("arena ", "$"))]
    threads = []
    with os.scandir(f"/proc/{pid}/task") as tasks:
        for task in tasks:
            with open(f"/proc/{pid}/task/{task.name}/comm") as f:
                threads.append(f.read().strip())
    return {"rss_before": before, "rss_after": proc_status_kb(pid, "VmRSS"), "lines": lines,
            "thread_names": sorted(threads)}


def smaps(pid):
    """[(start, end, perms, inode, path, rss_kb)] of `/proc/PID/smaps`."""
    maps = []
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = HEADER.match(line)
            if m:
                maps.append([int(m[1], 16), int(m[2], 16), m[3], int(m[4]), m[5].strip(), 0])
            elif line.startswith("Rss:") and maps:
                maps[-1][5] = int(line.split()[1])
    return maps


def classify(maps):
    """RSS in kB by kind, and each arena heap's RSS by its address."""
    kinds = dict.fromkeys(KINDS, 0)
    arenas = {}
    for i, (start, end, perms, inode, path, rss) in enumerate(maps):
        before = maps[i - 1] if i else None
        after = maps[i + 1] if i + 1 < len(maps) else None
        if path == "[heap]":
            kinds["heap"] += rss
        elif inode or path.startswith("/") or (path.startswith("[") and path != "[stack]" and not path.startswith("[anon")):
            kinds["file"] += rss
        elif path == "[stack]":
            kinds["stacks"] += rss
        elif (perms.startswith("rw") and start % ARENA_ALIGN == 0 and end - start <= ARENA_ALIGN
              and (end - start == ARENA_ALIGN or (after and after[0] == end and after[2].startswith("---")
                                                   and after[1] <= start + ARENA_ALIGN))):
            kinds["arenas"] += rss
            arenas[f"{start:x}"] = rss
        elif (perms.startswith("rw") and before and before[1] == start and before[2].startswith("---")
              and before[1] - before[0] <= 64 << 10 and not before[4]):
            kinds["stacks"] += rss
        else:
            kinds["anon"] += rss
    return kinds, arenas


def main(argv):
    bin_dir = argv[0]
    opts = {"minutes": 10, "reload_every": 3.0, "sighup_every": 0.0, "samples": 6, "capacity": None, "json": None,
            "load": True, "streams": True, "gdb_at": [], "trim_at_end": False}
    args = argv[1:]
    while args:
        flag = args.pop(0)
        if flag == "--no-load":
            opts["load"] = False
        elif flag == "--no-streams":
            opts["streams"] = False
        elif flag in ("--minutes", "--samples"):
            opts[flag[2:]] = int(args.pop(0))
        elif flag in ("--reload-every", "--sighup-every", "--capacity"):
            opts[flag[2:].replace("-", "_")] = float(args.pop(0))
        elif flag == "--gdb-at":
            opts["gdb_at"] = [int(m) for m in args.pop(0).split(",")]
        elif flag == "--trim-at-end":
            opts["trim_at_end"] = True
        elif flag == "--json":
            opts["json"] = args.pop(0)
        else:
            raise SystemExit(f"unknown argument {flag!r}")
    work, model_dir, token, addr, log, server = start_server(bin_dir, "docclass-soak-rss-")
    stop = threading.Event()
    counts = {"reloads": 0, "refused": 0, "failed": 0, "sighups": 0, "in_reload": 0, "sighup_at": -1e9}
    samples = []
    rows = []
    walks = {}
    load_before = load_averages()
    try:
        capacity = opts["capacity"]
        if not capacity:
            run = result(bench(bin_dir, addr, "unary", 5, ["-c", "8", "--wait-ready", "30"]))
            capacity = run.get("documents_per_sec", 0)
            if not capacity:
                raise SystemExit(f"no capacity measured: {run}")
        else:
            result(bench(bin_dir, addr, "unary", 1, ["-c", "1", "--wait-ready", "30"]))
        rates = {"unary": round(capacity * 0.25), "batch": max(1, round(capacity * 0.15 / 32)),
                 "stream": round(capacity * 0.10)}
        texts = [json.loads(line)["text"] for name in sorted(os.listdir("training-data/en"))
                 for line in open(os.path.join("training-data/en", name)) if line.strip()][:500]
        start = time.monotonic()

        def reloader():
            n = 0
            while opts["reload_every"] and not stop.wait(opts["reload_every"]):
                n += 1
                path = "truncated.model" if n % 5 == 0 else ("b.model" if n % 2 else "a.model")
                counts["in_reload"] += 1
                status = reload(addr, token, os.path.join(model_dir, path))
                counts["in_reload"] -= 1
                key = "reloads" if status == "OK" else ("refused" if path == "truncated.model" else "failed")
                counts[key] += 1

        def sighupper():
            while opts["sighup_every"] and not stop.wait(opts["sighup_every"]):
                server.send_signal(signal.SIGHUP)
                counts["sighups"] += 1
                counts["sighup_at"] = time.monotonic()

        def sampler():
            interval = 60 / opts["samples"]
            next_at = start + interval / 2
            while not stop.wait(max(0, next_at - time.monotonic())):
                next_at += interval
                # A SIGHUP's reload is not seen from here: 2 s after one count as busy.
                busy = counts["in_reload"] > 0 or time.monotonic() - counts["sighup_at"] < 2
                try:
                    kinds, arenas = classify(smaps(server.pid))
                except OSError:
                    return
                samples.append({"t": round(time.monotonic() - start, 1), "busy": busy or counts["in_reload"] > 0,
                                "rss": proc_status_kb(server.pid, "VmRSS"), "threads": proc_status_kb(server.pid, "Threads"),
                                **kinds, "arena_list": arenas, **{k: counts[k] for k in ("reloads", "refused", "sighups")}})

        threads = [threading.Thread(target=f, daemon=True) for f in (reloader, sighupper, sampler)]
        for t in threads:
            t.start()
        for minute in range(1, opts["minutes"] + 1):
            t0 = time.monotonic()
            runs = {}
            if opts["load"]:
                runs = {
                    "unary": bench(bin_dir, addr, "unary", 60, ["--rate", str(rates["unary"]), "-c", "32"]),
                    "batch": bench(bin_dir, addr, "batch", 60, ["--rate", str(rates["batch"]), "-c", "8", "--batch-size", "32"]),
                }
            failed = 0
            if opts["load"] and opts["streams"]:
                failed += stream_load(addr, texts, 60, rates["stream"])["failed_rpcs"]
            for process in runs.values():
                failed += result(process).get("failed_rpcs", 0) if opts["load"] else 0
            while time.monotonic() - t0 < 60:
                time.sleep(0.2)
            mine = [s for s in samples if (minute - 1) * 60 <= s["t"] < minute * 60]
            quiet = [s for s in mine if not s["busy"]] or mine
            row = {"minute": minute, "n": len(quiet), "failed": failed, "load": round(os.getloadavg()[0], 2),
                   **{k: counts[k] for k in ("reloads", "refused", "sighups")}}
            for key in ("rss",) + KINDS + ("threads",):
                row[key] = statistics.median(s[key] for s in quiet) if quiet else None
            row["arena_count"] = statistics.median(len(s["arena_list"]) for s in quiet) if quiet else None
            rows.append(row)
            print(json.dumps(row), flush=True)
            if minute in opts["gdb_at"]:
                walks[minute] = gdb(server.pid, work)
                print(json.dumps(walks[minute]), flush=True)
        stop.set()
        if opts["trim_at_end"]:
            time.sleep(2)
            kinds, _ = classify(smaps(server.pid))
            walks["trim"] = gdb(server.pid, work, trim=True)
            walks["trim"]["kinds_before"] = kinds
            walks["trim"]["kinds_after"] = classify(smaps(server.pid))[0]
            print(json.dumps(walks["trim"]), flush=True)
        alive = server.poll() is None
    finally:
        stop.set()
        stop_server(server, 20)
        log.close()
    report = {"walks": walks, "opts": opts, "capacity": capacity, "rates": rates, "rows": rows, "samples": samples, "alive": alive,
              "load_before": load_before, "load_after": load_averages()}
    if opts["json"]:
        with open(opts["json"], "w") as f:
            json.dump(report, f)
    print("| minute | reloads | SIGHUPs | RSS MB | heap | arenas (n) | stacks | anon | file | threads | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    mb = lambda kb: "—" if kb is None else f"{kb / 1024:.1f}"
    for r in rows:
        print(f"| {r['minute']} | {r['reloads']} | {r['sighups']} | {mb(r['rss'])} | {mb(r['heap'])} | "
              f"{mb(r['arenas'])} ({r['arena_count']:.0f}) | {mb(r['stacks'])} | {mb(r['anon'])} | {mb(r['file'])} | "
              f"{r['threads']:.0f} | {r['load']} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
