#!/usr/bin/env python3
"""Reload and shutdown figures (issue 21, "Reload and shutdown"), against a
release docclass-server serving a copy of models/default.model on loopback.

1. A 1 GiB file that is not a model (sparse, zeros), reloaded 5 times: the
   server's own time to refuse it (`elapsed_us` of its "model reload failed"
   line) and its RSS and peak RSS (VmRSS, VmHWM) before and after.
2. Four reloads at once of a 1 GiB file with a model's header (it reads to
   the end, then fails its checksum), each with a 0.3 s deadline
   (`grpcurl -max-time 0.3`): how many loads ran at once (from the server's
   "loading model file" / "model reload ..." lines), when the last one
   ended, peak RSS, and the reload counters.
3. A FIFO in the model directory, reloaded 5 times: the server's threads
   before and after.
4. SIGTERM with --shutdown-grace-secs 2: idle; during a reload of the 1 GiB
   file; with a ClassifyStream left open (the grace period runs out); both.
   Seconds from the signal to the exit, against the target of grace + 1 s.
5. --watch: Admin/ReloadModel loads another file; reloads the watch starts
   in the next 6 s (three of its checks).

Usage: bench/reload_shutdown.py BIN_DIR GRPCURL (bench/reload_shutdown.sh
builds the binaries and finds grpcurl). Prints a markdown table; exits 1 when
a target is missed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import free_port, proc_status_kb

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-admin-token-0123456789"
GIB = 1 << 30
GRACE = 2
DEBUG_LOG = "info,docclass::service::reload=debug,docclass_server=debug"


def proc_status(pid, key):
    value = proc_status_kb(pid, key)
    if value is None:
        raise KeyError(f"{key} of process {pid}")
    return value


def mb(kb):
    return f"{kb / 1024:.1f} MB"


def header(payload_len):
    return b"DOCCLASS" + (4).to_bytes(4, "little") + payload_len.to_bytes(8, "little") + bytes(32)


def sparse(path, prefix, size):
    with open(path, "wb") as f:
        f.write(prefix)
        f.truncate(size)


class Server:
    def __init__(self, bin_dir, work, extra=()):
        self.work = work
        self.addr = f"127.0.0.1:{free_port()}"
        self.log_path = work / f"server-{self.addr.split(':')[1]}.log"
        env = dict(os.environ, DOCCLASS_ADMIN_TOKEN=TOKEN, RUST_LOG=DEBUG_LOG)
        self.proc = subprocess.Popen(
            [str(bin_dir / "docclass-server"), "--model", str(work / "current.model"),
             "--addr", self.addr, *extra],
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"), env=env)
        self.client = bin_dir / "docclass"
        deadline = time.time() + 60
        while subprocess.run([str(self.client), "--addr", self.addr, "--timeout", "2", "health"],
                             capture_output=True).returncode != 0:
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"server did not start:\n{self.log()}")
            time.sleep(0.1)

    def log(self):
        return self.log_path.read_text()

    def wait_log(self, pattern, count=1, within=60):
        deadline = time.time() + within
        while len(re.findall(pattern, self.log())) < count:
            if time.time() > deadline:
                raise SystemExit(f"{pattern!r} x{count} not in the log:\n{self.log()}")
            time.sleep(0.01)

    def terminate(self):
        """SIGTERM; seconds to the exit, and the exit code."""
        t0 = time.monotonic()
        self.proc.terminate()
        code = self.proc.wait(timeout=120)
        return time.monotonic() - t0, code


def grpcurl_reload(grpcurl, addr, path, max_time=None):
    args = [grpcurl, "-plaintext", "-H", f"authorization: Bearer {TOKEN}",
            "-d", json.dumps({"model_path": path})]
    if max_time is not None:
        args += ["-max-time", str(max_time)]
    return subprocess.Popen(args + [addr, "docclass.v1.Admin/ReloadModel"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def reload_counts(log):
    return {r: len(re.findall(pat, log)) for r, pat in
            [("loaded", r"model loaded; in service"), ("failed", r"model reload failed"),
             ("cancelled", r"model reload cancelled")]}


def most_at_once(log):
    """Loads running at once, from the order of start and end lines."""
    running = most = 0
    for line in log.splitlines():
        if "loading model file" in line:
            running += 1
            most = max(most, running)
        elif re.search(r"model loaded; in service|model reload failed|model reload cancelled", line):
            running = max(0, running - 1)
    return most


def refusal(bin_dir, grpcurl, work, rows):
    sparse(work / "big.bin", b"", GIB)
    s = Server(bin_dir, work)
    pid = s.proc.pid
    rss0, hwm0 = proc_status(pid, "VmRSS"), proc_status(pid, "VmHWM")
    wall = []
    for i in range(5):
        t0 = time.monotonic()
        out = grpcurl_reload(grpcurl, s.addr, "big.bin").communicate()
        wall.append(time.monotonic() - t0)
        assert "FailedPrecondition" in out[1] and "wrong magic number" in out[1], out
    s.wait_log("model reload failed", 5)
    micros = [int(m) for m in re.findall(r"model reload failed.*elapsed_us=(\d+)", s.log())]
    rss1, hwm1 = proc_status(pid, "VmRSS"), proc_status(pid, "VmHWM")
    exit_s, code = s.terminate()
    rows.append(("1 GiB non-model file, refused (server time, 5 reloads)",
                 f"{min(micros) / 1000:.2f}–{max(micros) / 1000:.2f} ms "
                 f"(grpcurl round trip incl. process start {min(wall) * 1000:.0f}–{max(wall) * 1000:.0f} ms)",
                 max(micros) < 10_000))
    rows.append(("  RSS / peak RSS before → after",
                 f"{mb(rss0)} / {mb(hwm0)} → {mb(rss1)} / {mb(hwm1)}",
                 hwm1 - hwm0 < 10 * 1024))
    return code == 0


def cancelled_reloads(bin_dir, grpcurl, work, rows):
    sparse(work / "slow.model", header(GIB - 52), GIB)
    s = Server(bin_dir, work)
    pid = s.proc.pid
    hwm0 = proc_status(pid, "VmHWM")
    t0 = time.monotonic()
    calls = [grpcurl_reload(grpcurl, s.addr, "slow.model", max_time=0.3) for _ in range(4)]
    outs = [c.communicate() for c in calls]
    s.wait_log(r"model reload cancelled", 4)
    ended = time.monotonic() - t0
    log = s.log()
    hwm1 = proc_status(pid, "VmHWM")
    counts = reload_counts(log)
    most = most_at_once(log)
    codes = sorted({re.search(r"Code: (\w+)", o[1]).group(1) if "Code:" in o[1] else o[1].strip()[:60]
                    for o in outs})
    metrics_ok = counts["cancelled"] == 4
    exit_s, code = s.terminate()
    rows.append(("4 reloads of a 1 GiB model-headed file at once, 0.3 s deadline each",
                 f"client codes {codes}; loads at once: at most {most}; "
                 f"all 4 ended (cancelled) {ended:.2f} s after the first call", most <= 1 and metrics_ok))
    rows.append(("  peak RSS before → after", f"{mb(hwm0)} → {mb(hwm1)}", True))
    rows.append(("  reload log lines", json.dumps(counts), metrics_ok))
    return code == 0


def fifo(bin_dir, grpcurl, work, rows):
    os.mkfifo(work / "pipe.model")
    s = Server(bin_dir, work)
    pid = s.proc.pid
    before = proc_status(pid, "Threads")
    for _ in range(5):
        out = grpcurl_reload(grpcurl, s.addr, "pipe.model").communicate()
        assert "is not a regular file" in out[1], out
    after = proc_status(pid, "Threads")
    exit_s, code = s.terminate()
    rows.append(("FIFO in the model directory, 5 reloads", f"threads {before} → {after}",
                 after <= before + 1))
    return code == 0


def open_stream(grpcurl, addr):
    """A ClassifyStream that has sent one document and stays open."""
    p = subprocess.Popen([grpcurl, "-plaintext", "-d", "@", addr,
                          "docclass.v1.Classifier/ClassifyStream"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    p.stdin.write(json.dumps({"text": "Troops and militia clashed near the border"}) + "\n")
    p.stdin.flush()
    p.stdout.readline()  # the first line of the first outcome: the stream is open and served
    return p


def sigterm(bin_dir, grpcurl, work, rows):
    sparse(work / "slow.model", header(GIB - 52), GIB)
    ok = True
    for case in ["idle", "during a 1 GiB load", "stream left open", "stream left open + 1 GiB load"]:
        s = Server(bin_dir, work, ["--shutdown-grace-secs", str(GRACE)])
        keep = []
        if "stream" in case:
            keep.append(open_stream(grpcurl, s.addr))
        if "load" in case:
            loads = len(re.findall("loading model file", s.log()))
            keep.append(grpcurl_reload(grpcurl, s.addr, "slow.model"))
            s.wait_log("loading model file", loads + 1)
        secs, code = s.terminate()
        for p in keep:
            p.kill()
            p.wait()
        met = secs <= GRACE + 1 and code == 0
        ok &= met
        rows.append((f"SIGTERM, grace {GRACE} s: {case}", f"exit {code} after {secs:.2f} s", met))
    return ok


def watch(bin_dir, grpcurl, work, rows):
    s = Server(bin_dir, work, ["--watch"])
    shutil.copy(ROOT / "models/default.model", work / "next.model")
    out = grpcurl_reload(grpcurl, s.addr, "next.model").communicate()
    assert "modelVersion" in out[0], out
    checks = len(re.findall("model file unchanged", s.log()))
    s.wait_log("model file unchanged", checks + 3)
    again = len(re.findall("model file changed; reloading", s.log()))
    exit_s, code = s.terminate()
    rows.append(("--watch after Admin/ReloadModel loaded next.model: reloads in the next 3 checks",
                 str(again), again == 0))
    return code == 0


def main():
    bin_dir, grpcurl = Path(sys.argv[1]), sys.argv[2]
    rows = []
    clean = True
    for step in [refusal, cancelled_reloads, fifo, sigterm, watch]:
        with tempfile.TemporaryDirectory() as d:
            work = Path(d)
            shutil.copy(ROOT / "models/default.model", work / "current.model")
            clean &= step(bin_dir, grpcurl, work, rows)
    print("| check | result | target met |")
    print("|---|---|---|")
    for check, result, met in rows:
        print(f"| {check} | {result} | {'yes' if met else 'NO'} |")
    sys.exit(0 if clean and all(met for _, _, met in rows) else 1)


if __name__ == "__main__":
    main()
