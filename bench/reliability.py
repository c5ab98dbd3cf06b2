#!/usr/bin/env python3
"""Issue 5's load proofs on loopback, with the project's own load generator.

1. Reload under load: unary Classify at a sustained rate for RELOAD_SECS
   (default 65) while the model is swapped 20 times through Admin/ReloadModel,
   5 of them to deliberately broken files (truncated, garbage, flipped byte,
   empty, another topic set). Expected: zero failed requests, every response's
   model_version one of the two valid models, RSS bounded.
2. Overload: closed-loop capacity first, then open-loop offered load at 3x it
   for OVERLOAD_SECS (default 60), with far more requests in flight than the
   server admits. Expected: no crash, shed requests get RESOURCE_EXHAUSTED,
   p99 of admitted requests bounded, RSS flat.

Writes its block of docs/RELIABILITY.md. Usage: bench/reliability.py BIN_DIR GRPCURL
(bench/reliability.sh builds and finds both).
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import free_port, proc_status_kb, write_block

ROOT = Path(__file__).resolve().parent.parent
RELOAD_SECS = int(os.environ.get("RELOAD_SECS", "65"))
OVERLOAD_SECS = int(os.environ.get("OVERLOAD_SECS", "60"))
SWAPS = 20
BROKEN = ["truncated.model", "garbage.model", "flipped.model", "empty.model", "other-topics.model"]


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            v = proc_status_kb(self.pid, "VmRSS")
            if v is not None:
                self.samples.append(v)
            time.sleep(0.5)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def model_version(bin_dir, path):
    out = run([f"{bin_dir}/docclass-bench", "load-model", str(path), "--json"])
    if out.returncode == 0:
        try:
            return json.loads(out.stdout)["model_version"]
        except (ValueError, KeyError):
            pass
    sys.exit(f"cannot read the version of {path}: {out.stdout}{out.stderr}")


def make_models(bin_dir, d):
    shutil.copy(ROOT / "models/default.model", d / "a.model")
    train = [f"{bin_dir}/docclass-train", "--topics", str(ROOT / "training-data/topics.json"),
             "--nb", "complement", "--no-idf", "--word-ngrams", "1", "--min-df", "1",
             "--no-calibration", "--folds", "3", "--seed", "7",
             "--created-at", "2026-11-29T00:00:00Z", "--input"]
    inputs = sorted(str(p) for p in (ROOT / "training-data").glob("*/*.jsonl"))
    out = run(train[:-1] + ["--alpha", "0.3", "--output", str(d / "b.model"), "--input"] + inputs)
    if out.returncode != 0:
        sys.exit(f"training b.model failed: {out.stderr}")
    # A model over fewer topics: reloading it is refused as a topic change.
    few = [p for p in inputs if Path(p).stem in ("military_operations", "humanitarian_aid", "other")]
    out = run([f"{bin_dir}/docclass-train", "--nb", "complement", "--alpha", "0.5",
               "--no-validation", "--no-calibration", "--output", str(d / "other-topics.model"),
               "--input"] + few)
    if out.returncode != 0:
        sys.exit(f"training other-topics.model failed: {out.stderr}")
    raw = (d / "a.model").read_bytes()
    (d / "truncated.model").write_bytes(raw[: len(raw) // 2])
    (d / "garbage.model").write_bytes(random.Random(1).randbytes(4096))
    flipped = bytearray(raw)
    flipped[len(flipped) // 2] ^= 0xFF
    (d / "flipped.model").write_bytes(bytes(flipped))
    (d / "empty.model").write_bytes(b"")
    shutil.copy(d / "a.model", d / "serving.model")


def start_server(bin_dir, d, port, metrics_port, extra=()):
    log = open(d / "server.log", "a")
    proc = subprocess.Popen(
        [f"{bin_dir}/docclass-server", "--model", str(d / "serving.model"), "--model-dir", str(d),
         "--addr", f"127.0.0.1:{port}", "--metrics-addr", f"127.0.0.1:{metrics_port}",
         "--admin-token-file", str(d / "token"), "--shutdown-grace-secs", "5", *extra],
        stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "warn"})
    return proc


def bench(bin_dir, mode, port, *args):
    return [f"{bin_dir}/docclass-bench", mode, "--addr", f"127.0.0.1:{port}", "--json",
            "--wait-ready", "10", *args]


def scrape(metrics_port, prefix):
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    return [l for l in text.splitlines() if l.startswith(prefix)]


def reload_under_load(bin_dir, grpcurl, d, va, vb):
    port, mport = free_port(), free_port()
    server = start_server(bin_dir, d, port, mport)
    sampler = RssSampler(server.pid)
    sampler.start()
    load = subprocess.Popen(
        bench(bin_dir, "unary", port, "--rate", "500", "--concurrency", "64", "--warmup", "0",
              "--duration", str(RELOAD_SECS), "--expect-version", va, "--expect-version", vb),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    plan = []
    good = ["b.model", "a.model"]
    broken_at = {3, 7, 11, 15, 18}
    broken = iter(BROKEN)
    for i in range(SWAPS):
        plan.append(next(broken) if i in broken_at else good[len(plan) % 2])
    token = (d / "token").read_text().strip()
    swaps = []
    gap = (RELOAD_SECS - 8) / SWAPS
    for name in plan:
        t0 = time.time()
        out = run([grpcurl, "-plaintext", "-H", f"authorization: Bearer {token}",
                   "-d", json.dumps({"model_path": name}), f"127.0.0.1:{port}",
                   "docclass.v1.Admin/ReloadModel"])
        ok = out.returncode == 0
        detail = json.loads(out.stdout).get("modelVersion", "") if ok else out.stderr.strip().splitlines()[-1:]
        swaps.append((name, ok, detail))
        time.sleep(max(0.0, gap - (time.time() - t0)))
    stdout, stderr = load.communicate(timeout=RELOAD_SECS + 60)
    sampler.stop.set()
    reloads = scrape(mport, "docclass_model_reloads")
    server.terminate()
    code = server.wait(timeout=30)
    try:
        report = json.loads(stdout)
    except ValueError:
        sys.exit(f"docclass-bench gave no report (exit {load.returncode}): {stderr}")
    return {"report": report, "bench_exit": load.returncode, "swaps": swaps, "rss": sampler.samples,
            "reload_metrics": reloads, "server_exit": code}


def overload(bin_dir, d):
    port, mport = free_port(), free_port()
    shutil.copy(d / "a.model", d / "serving.model")
    server = start_server(bin_dir, d, port, mport, ["--max-concurrent-requests", "16"])
    # Batches of 32 documents: the server, not the generator, is the limit,
    # so 3x its capacity can really be offered.
    cap = run(bench(bin_dir, "batch", port, "--batch-size", "32", "--concurrency", "16", "--duration", "8"))
    capacity = json.loads(cap.stdout)["rpcs_per_sec"]
    sampler = RssSampler(server.pid)
    sampler.start()
    offered = 3 * capacity
    out = run(bench(bin_dir, "batch", port, "--batch-size", "32", "--rate", f"{offered:.0f}",
                    "--concurrency", "512", "--connections", "4", "--warmup", "0",
                    "--duration", str(OVERLOAD_SECS)))
    sampler.stop.set()
    shed = scrape(mport, "docclass_rpc_shed")
    alive = server.poll() is None
    health = run(bench(bin_dir, "unary", port, "--requests", "20", "--concurrency", "1", "--duration", "5"))
    server.terminate()
    code = server.wait(timeout=30)
    return {"capacity": capacity, "offered": offered, "report": json.loads(out.stdout),
            "alive_after": alive, "after_ok": health.returncode == 0, "rss": sampler.samples,
            "shed_metrics": shed, "server_exit": code}


def mb(kb):
    return f"{kb / 1024:.1f} MB"


def rss_line(samples):
    if not samples:
        return "no samples"
    n = len(samples)
    first = samples[: max(1, n // 10)]
    last = samples[-max(1, n // 10):]
    # Every 5 s (10 samples): the shape of the curve, not just its ends.
    series = ", ".join(f"{samples[i] / 1024:.0f}" for i in range(0, n, 10))
    return (f"{n} samples: min {mb(min(samples))}, max {mb(max(samples))}; first tenth median "
            f"{mb(sorted(first)[len(first) // 2])}, last tenth median {mb(sorted(last)[len(last) // 2])};"
            f" every 5 s (MB): {series}")


def main():
    bin_dir, grpcurl = sys.argv[1], sys.argv[2]
    d = Path(tempfile.mkdtemp(prefix="docclass-reliability-"))
    (d / "token").write_text("reliability-" + os.urandom(8).hex())
    make_models(bin_dir, d)
    va, vb = model_version(bin_dir, d / "a.model"), model_version(bin_dir, d / "b.model")
    r = reload_under_load(bin_dir, grpcurl, d, va, vb)
    o = overload(bin_dir, d)
    rep, orep = r["report"], o["report"]
    good_swaps = sum(1 for _, ok, _ in r["swaps"] if ok)
    bad_refused = sum(1 for n, ok, _ in r["swaps"] if n in BROKEN and not ok)
    lines = [
        "<!-- reliability:begin -->",
        "",
        "Written by `bash bench/reliability.sh`.",
        f"Measured {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} on a 2-core shared machine"
        " (server and generator unpinned, other work may be running).",
        "",
        "### Reload under load",
        "",
        f"`docclass-bench unary --rate 500 --concurrency 64 --duration {RELOAD_SECS}` against"
        f" `docclass-server`, while `Admin/ReloadModel` swapped the model {len(r['swaps'])} times"
        f" (every {(RELOAD_SECS - 8) / SWAPS:.1f} s, by grpcurl with the admin token), 5 of them to broken files.",
        "",
        "| check | result |",
        "|---|---|",
        f"| requests answered | {rep['rpcs']:,} at {rep['rpcs_per_sec']:.0f} RPC/s over {rep['measured_secs']:.1f} s |",
        f"| failed requests | {rep['failed_rpcs']} {json.dumps(rep['errors'])} |",
        f"| responses per model_version | {json.dumps(rep['model_versions'])} (valid: {va}, {vb}) |",
        f"| unexpected versions | {json.dumps(rep['unexpected_versions'])} |",
        f"| generator exit status | {r['bench_exit']} (0: no failure and no unexpected version) |",
        f"| swaps to valid models that succeeded | {good_swaps} of {len(r['swaps']) - len(BROKEN)} |",
        f"| swaps to broken files refused, old model kept | {bad_refused} of {len(BROKEN)} |",
        f"| reload metrics after the run | {'; '.join(r['reload_metrics'])} |",
        f"| latency of answered requests | p50 {rep['latency_ms']['p50']:.2f} ms, p99 {rep['latency_ms']['p99']:.2f} ms, max {rep['latency_ms']['max']:.2f} ms |",
        f"| server RSS | {rss_line(r['rss'])} |",
        f"| server exit after SIGTERM | {r['server_exit']} |",
        "",
        "Swaps, in order:",
        "",
    ]
    for name, ok, detail in r["swaps"]:
        lines.append(f"- `{name}`: {'ok, now ' + str(detail) if ok else 'refused: ' + ' '.join(detail)}")
    lines += [
        "",
        "### Overload",
        "",
        f"Server with `--max-concurrent-requests 16`. Capacity, `docclass-bench batch --batch-size 32`"
        f" closed loop at concurrency 16: {o['capacity']:.0f} RPC/s."
        f" Then `docclass-bench batch --batch-size 32 --rate {o['offered']:.0f} --concurrency 512 --connections 4"
        f" --duration {OVERLOAD_SECS}` (3x capacity offered, open loop; latency counts from when each"
        " request was due, so any queueing in the generator shows too).",
        "",
        "| check | result |",
        "|---|---|",
        f"| answered | {orep['rpcs']:,} OK ({orep['rpcs_per_sec']:.0f}/s, {orep['documents_per_sec']:.0f} documents/s) |",
        f"| refused, by code | {json.dumps(orep['errors'])} |",
        f"| shed metric | {'; '.join(o['shed_metrics'])} |",
        f"| latency of admitted requests | p50 {orep['latency_ms']['p50']:.2f} ms, p99 {orep['latency_ms']['p99']:.2f} ms, max {orep['latency_ms']['max']:.2f} ms |",
        f"| server alive after the run | {o['alive_after']}; a normal run afterwards succeeded: {o['after_ok']} |",
        f"| server RSS | {rss_line(o['rss'])} |",
        f"| server exit after SIGTERM | {o['server_exit']} |",
        "",
        "<!-- reliability:end -->",
    ]
    write_block(ROOT / "docs/RELIABILITY.md", "Reload under load, and overload",
                "<!-- reliability:begin -->", "<!-- reliability:end -->", "\n".join(lines))
    print("\n".join(lines))
    failed = (rep["failed_rpcs"] != 0 or rep["unexpected_versions"] or r["bench_exit"] != 0
              or bad_refused != len(BROKEN) or not o["alive_after"] or not o["after_ok"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
