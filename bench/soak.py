"""The 30-minute soak of the denial-of-service issue (docs/RELIABILITY.md).

    python3 bench/soak.py BIN_DIR [--minutes 30] [--write docs/RELIABILITY.md]

A fresh docclass-server (release build, default model, an admin token) runs
mixed load for MINUTES minutes at about half its capacity:

- capacity: closed-loop unary documents/s over 5 s (`docclass-bench unary -c 8`)
  before the soak;
- load, open loop, each as its own `docclass-bench` process, restarted every
  minute so that each minute has its own percentiles: unary at 25 % of that
  capacity (RPC/s), batches of 32 at 15 % (documents/s), streams at 10 %
  (messages/s, 4 streams, from grpcio in this process: docclass-bench runs
  streams closed loop only);
- every 30 s an Admin/ReloadModel, every fifth one of a truncated model file
  (which must be refused, the old model staying in service);
- every 2 minutes a SIGHUP (which reloads the file in service).

It reports RPCs by status, p50/p99/p99.9 per minute for each kind of load,
the server's RSS at the end of each minute, and the reloads' outcomes; and
exits non-zero when a target is missed: 0 failed RPCs other than the bad
files' refusals, RSS after minute 5 growing < 10 %, no lasting latency step
(no three minutes in a row with p99 over 3x the median minute's).
"""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import free_port, load_averages, proc_status_kb, read_varint, stop_server, varint, write_block

MARK_BEGIN = "<!-- soak:begin -->"
MARK_END = "<!-- soak:end -->"


def reload(addr, token, path):
    """Admin/ReloadModel of `path`; the status code's name."""
    import grpc

    data = path.encode()
    request = b"\x0a" + varint(len(data)) + data
    with grpc.insecure_channel(addr) as channel:
        call = channel.unary_unary("/docclass.v1.Admin/ReloadModel")
        try:
            call(request, timeout=30, metadata=[("authorization", f"Bearer {token}")])
            return "OK"
        except grpc.RpcError as error:
            return error.code().name


def bench(bin_dir, addr, mode, secs, extra):
    cmd = [f"{bin_dir}/docclass-bench", mode, "--addr", addr, "--duration", str(secs),
           "--warmup", "0", "--timeout", "5", "--json"] + extra
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(process):
    out, err = process.communicate()
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        return {"rpcs": 0, "failed_rpcs": 0, "errors": {"bench failed": 1}, "latency_ms": {}, "stderr": err[-300:]}


def outcome_fields(message):
    """The top-level field numbers of a protobuf message."""
    fields, i = set(), 0
    while i < len(message):
        key, i = read_varint(message, i)
        field, wire = key >> 3, key & 7
        fields.add(field)
        if wire == 0:
            _, i = read_varint(message, i)
        elif wire == 2:
            length, i = read_varint(message, i)
            i += length
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return fields


def stream_load(addr, texts, secs, rate, streams=4):
    """`streams` ClassifyStream calls sending `rate` messages/s in all, open
    loop, for `secs`; a report shaped like docclass-bench's. (docclass-bench
    runs streams closed loop only.)"""
    import grpc

    latencies, errors, lock = [], {}, threading.Lock()
    counts = {"sent": 0, "ok": 0}

    def one(k):
        sent_at = {}
        interval = streams / rate
        deadline = time.monotonic() + secs

        def requests():
            n, next_at = 0, time.monotonic()
            while next_at < deadline:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                text = texts[(k + n * streams) % len(texts)].encode()
                sent_at[n] = time.monotonic()
                n += 1
                yield b"\x0a" + varint(len(text)) + text
                next_at += interval

        with grpc.insecure_channel(addr) as channel:
            call = channel.stream_stream("/docclass.v1.Classifier/ClassifyStream")
            n = 0
            try:
                for response in call(requests(), timeout=secs + 30):
                    done = time.monotonic()
                    ok = 3 in outcome_fields(response)
                    with lock:
                        latencies.append((done - sent_at.pop(n)) * 1000)
                        counts["ok" if ok else "document_error"] = counts.get("ok" if ok else "document_error", 0) + 1
                    n += 1
            except grpc.RpcError as error:
                with lock:
                    errors[error.code().name] = errors.get(error.code().name, 0) + 1

    threads = [threading.Thread(target=one, args=(k,)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None
    return {
        "rpcs": streams, "failed_rpcs": sum(errors.values()), "documents": len(latencies),
        "errors": errors, "document_errors": {"error outcome": counts["document_error"]} if counts.get("document_error") else {},
        "latency_ms": {"p50": pick(0.5), "p99": pick(0.99), "p999": pick(0.999)},
    }


def start_server(bin_dir, prefix):
    """A docclass-server on a free loopback port, in a fresh work directory
    whose model directory holds a.model and b.model (the default model) and
    truncated.model (its first half, which a reload must refuse), with an
    admin token. Returns (work, model_dir, token, addr, log, server)."""
    work = tempfile.mkdtemp(prefix=prefix)
    model_dir = os.path.join(work, "models")
    os.mkdir(model_dir)
    for name in ("a.model", "b.model"):
        shutil.copy("models/default.model", os.path.join(model_dir, name))
    blob = open("models/default.model", "rb").read()
    with open(os.path.join(model_dir, "truncated.model"), "wb") as f:
        f.write(blob[: len(blob) // 2])
    token_file = os.path.join(work, "admin.token")
    token = "soak-admin-token-0123456789abcdef"
    with open(token_file, "w") as f:
        f.write(token)
    addr = f"127.0.0.1:{free_port()}"
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen(
        [f"{bin_dir}/docclass-server", "--model", os.path.join(model_dir, "a.model"),
         "--model-dir", model_dir, "--addr", addr, "--admin-token-file", token_file],
        stdout=subprocess.DEVNULL, stderr=log,
    )
    return work, model_dir, token, addr, log, server


def main(argv):
    bin_dir = argv[0]
    minutes, write = 30, None
    args = argv[1:]
    while args:
        flag = args.pop(0)
        if flag == "--minutes":
            minutes = int(args.pop(0))
        elif flag == "--write":
            write = args.pop(0)
        else:
            raise SystemExit(f"unknown argument {flag!r}")
    work, model_dir, token, addr, log, server = start_server(bin_dir, "docclass-soak-")
    load_before = load_averages()
    try:
        capacity_run = result(bench(bin_dir, addr, "unary", 5, ["-c", "8", "--wait-ready", "30"]))
        capacity = capacity_run.get("documents_per_sec", 0)
        if not capacity:
            raise SystemExit(f"no capacity measured: {capacity_run}")
        unary_rate = round(capacity * 0.25)
        batch_rate = max(1, round(capacity * 0.15 / 32))
        stream_rate = round(capacity * 0.10)
        texts = [json.loads(line)["text"] for name in sorted(os.listdir("training-data/en"))
                 for line in open(os.path.join("training-data/en", name)) if line.strip()][:500]
        reloads = []
        stop = threading.Event()
        start = time.monotonic()

        def admin_loop():
            n = 0
            while not stop.wait(30):
                n += 1
                path = "truncated.model" if n % 5 == 0 else ("b.model" if n % 2 else "a.model")
                reloads.append({"at_s": round(time.monotonic() - start), "path": path,
                                "status": reload(addr, token, os.path.join(model_dir, path))})
                if n % 4 == 0:
                    server.send_signal(signal.SIGHUP)
                    reloads.append({"at_s": round(time.monotonic() - start), "path": "SIGHUP", "status": "sent"})

        admin = threading.Thread(target=admin_loop, daemon=True)
        admin.start()
        per_minute = []
        for minute in range(1, minutes + 1):
            runs = {
                "unary": bench(bin_dir, addr, "unary", 60, ["--rate", str(unary_rate), "-c", "32"]),
                "batch": bench(bin_dir, addr, "batch", 60, ["--rate", str(batch_rate), "-c", "8", "--batch-size", "32"]),
            }
            stream_report = stream_load(addr, texts, 60, stream_rate)
            row = {"minute": minute}
            for kind, process in list(runs.items()) + [("stream", None)]:
                r = stream_report if process is None else result(process)
                row[kind] = {
                    "rpcs": r.get("rpcs", 0),
                    "failed": r.get("failed_rpcs", 0),
                    "documents": r.get("documents", 0),
                    "errors": r.get("errors", {}),
                    "document_errors": r.get("document_errors", {}),
                    "p50": r.get("latency_ms", {}).get("p50"),
                    "p99": r.get("latency_ms", {}).get("p99"),
                    "p999": r.get("latency_ms", {}).get("p999"),
                }
            row["rss_mb"] = round((proc_status_kb(server.pid, "VmRSS") or 0) / 1024, 1)
            row["load"] = round(os.getloadavg()[0], 2)
            per_minute.append(row)
            print(json.dumps(row), flush=True)
        stop.set()
        admin.join(timeout=60)
        alive = server.poll() is None
    finally:
        stop_server(server, 20)
        log.close()
    load_after = load_averages()
    report = {"capacity_docs_per_sec": capacity, "rates": {"unary": unary_rate, "batch": batch_rate, "stream": stream_rate},
              "per_minute": per_minute, "reloads": reloads, "alive": alive,
              "load_before": load_before, "load_after": load_after}
    checks = check(report)
    block = markdown(report, checks)
    print(block)
    if write:
        write_block(write, 'Soak', MARK_BEGIN, MARK_END, block)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(checks.values()) else 1


def check(report):
    rows = report["per_minute"]
    failed = sum(row[k]["failed"] + ("bench failed" in row[k]["errors"]) for row in rows for k in ("unary", "batch", "stream"))
    doc_errors = sum(sum(row[k]["document_errors"].values()) for row in rows for k in ("batch", "stream"))
    good_reloads = [r for r in report["reloads"] if r["path"] not in ("truncated.model", "SIGHUP")]
    bad_reloads = [r for r in report["reloads"] if r["path"] == "truncated.model"]
    after5 = [row["rss_mb"] for row in rows if row["minute"] >= 5]
    growth = (after5[-1] - after5[0]) / after5[0] if len(after5) >= 2 else 0.0
    lasting_step = False
    for kind in ("unary", "batch", "stream"):
        p99s = [row[kind]["p99"] or 0 for row in rows]
        median = statistics.median(p99s) if p99s else 0
        high = [p > 3 * median for p in p99s]
        lasting_step |= any(all(high[i:i + 3]) for i in range(max(0, len(high) - 2)))
    report["rss_growth_after_minute_5"] = growth
    return {
        "0 failed RPCs": failed == 0 and doc_errors == 0,
        "every good reload OK": all(r["status"] == "OK" for r in good_reloads),
        "every bad file refused": all(r["status"] != "OK" for r in bad_reloads),
        "RSS growth after minute 5 < 10%": growth < 0.10,
        "no lasting latency step": not lasting_step,
        "server alive": report["alive"],
    }


def markdown(report, checks):
    rows = report["per_minute"]
    fmt = lambda v: "—" if v is None else f"{v:.1f}"
    totals = {}
    for row in rows:
        for kind in ("unary", "batch", "stream"):
            k = row[kind]
            totals.setdefault(kind, {"OK": 0})
            totals[kind]["OK"] += k["rpcs"] - k["failed"]
            for name, n in k["errors"].items():
                totals[kind][name] = totals[kind].get(name, 0) + n
    reload_counts = {}
    for r in report["reloads"]:
        key = f"{r['path']}: {r['status']}"
        reload_counts[key] = reload_counts.get(key, 0) + 1
    lines = [
        MARK_BEGIN, "",
        f"Written by `bash bench/soak.sh` ({len(rows)} minutes; release build, default model, loopback). "
        f"Capacity before the soak: {report['capacity_docs_per_sec']:.0f} unary documents/s (closed loop, 8 workers). "
        f"Load, open loop: unary {report['rates']['unary']} RPC/s, batches of 32 at {report['rates']['batch']} RPC/s, "
        f"4 streams at {report['rates']['stream']} messages/s in all (a Python grpcio client: docclass-bench runs streams closed loop only). An Admin/ReloadModel every 30 s (every fifth of a "
        f"truncated file), a SIGHUP every 2 minutes. Machine: 2 cores, load average before {report['load_before']}, "
        f"after {report['load_after']}.", "",
        "RPCs by status: " + "; ".join(f"{kind} {json.dumps(t, sort_keys=True)}" for kind, t in totals.items()) + ".",
        "", "Reloads: " + "; ".join(f"{k} ×{n}" for k, n in sorted(reload_counts.items())) + ".", "",
        f"RSS growth from minute 5 to the end: {report.get('rss_growth_after_minute_5', 0):+.1%}.", "",
        "Targets: " + "; ".join(f"{name}: {'met' if ok else '**missed**'}" for name, ok in checks.items()) + ".", "",
        "| minute | unary p50 / p99 / p99.9 ms | batch p50 / p99 / p99.9 ms | stream p50 / p99 / p99.9 ms | RSS MB | load |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [" / ".join(fmt(row[k][p]) for p in ("p50", "p99", "p999")) for k in ("unary", "batch", "stream")]
        lines.append(f"| {row['minute']} | " + " | ".join(cells) + f" | {row['rss_mb']:.1f} | {row['load']} |")
    lines += ["", MARK_END]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
