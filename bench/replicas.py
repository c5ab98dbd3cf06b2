#!/usr/bin/env python3
"""Proof on loopback that several docclass-server replicas behave as one
service to a standard gRPC client (issue 20).

Three docclass-server processes on free loopback ports; one grpcio channel
over the three addresses with the `round_robin` policy, client-side gRPC
health checking and a retry policy, all from the gRPC service config (no
retry loop of our own: a failed call counts as failed). Load: THREADS
closed-loop threads calling Classify.

1. Spread: steady load for SPREAD_SECS; each server's share of the Classify
   RPCs, from its own /metrics (docclass_rpc_requests_total). Target: each
   server at least 25%.
2. Restart: steady load; one replica gets SIGTERM, drains and exits, then is
   started again on the same port. Target: 0 failed RPCs, and the restarted
   replica takes traffic again.
3. Rolling model update: steady load; Admin/ReloadModel to a new model on one
   replica at a time, ROLL_PAUSE_SECS apart. Target: 0 failed RPCs, every
   response names the old or the new model version, and every RPC started
   after the last reload answered names the new one.

Usage: bench/replicas.py BIN_DIR OUT.md (bench/replicas.sh builds the
binaries, provides grpcio and rewrites docs/DEPLOYMENT.md from OUT.md).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts/real_clients"))
from check_python import generate_stubs  # noqa: E402  (stubs from proto/, made at run time)
from benchlib import free_port  # noqa: E402

SERVICE = "docclass.v1.Classifier"
CLASSIFY = f"{SERVICE}/Classify"
REPLICAS = 3
THREADS = int(os.environ.get("REPLICAS_THREADS", "8"))
SPREAD_SECS = float(os.environ.get("SPREAD_SECS", "20"))
RESTART_SECS = float(os.environ.get("RESTART_SECS", "30"))
ROLL_PAUSE_SECS = float(os.environ.get("ROLL_PAUSE_SECS", "4"))
GRACE_SECS = 10  # --shutdown-grace-secs of every replica
ADMIN_TOKEN = "replicas-bench-admin-token"

# The client's whole policy: round_robin over every address, a subchannel is
# picked only while its health Watch says SERVING, and UNAVAILABLE (a
# connection closing under the call, a refused stream) is retried by grpcio.
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": SERVICE},
    "methodConfig": [{
        "name": [{"service": SERVICE}],
        "timeout": "10s",
        "retryPolicy": {
            "maxAttempts": 5,
            "initialBackoff": "0.05s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
}
CHANNEL_OPTIONS = [
    ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    ("grpc.enable_retries", 1),
    # A restarted replica rejoins within a second, not after grpcio's
    # default reconnect backoff (up to 120 s).
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # The default :authority of an `ipv4:a,b,c` target is "a,b,c", which is
    # no valid authority: the server's HTTP/2 layer resets every stream.
    ("grpc.default_authority", "docclass"),
]


class Replica:
    """One docclass-server process on fixed loopback ports, restartable."""

    def __init__(self, index, bin_dir, work):
        self.index, self.bin_dir, self.work = index, bin_dir, work
        self.port, self.metrics_port = free_port(), free_port()
        self.proc = None

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        log = open(self.work / f"server{self.index}.log", "a")
        self.proc = subprocess.Popen(
            [f"{self.bin_dir}/docclass-server",
             "--model", str(self.work / "models/default.model"),
             "--model-dir", str(self.work / "models"),
             "--addr", self.addr, "--metrics-addr", f"127.0.0.1:{self.metrics_port}",
             "--admin-token-file", str(self.work / "admin-token"),
             "--shutdown-grace-secs", str(GRACE_SECS)],
            stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "warn"})

    def wait_serving(self, health_pb2, health_stub_cls, timeout=30.0):
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.addr) as channel:
            stub = health_stub_cls(channel)
            while time.monotonic() < deadline:
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        sys.exit(f"replica {self.index} not SERVING within {timeout:.0f} s")

    def stop(self):
        """SIGTERM, then the exit code and how long the drain took."""
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=GRACE_SECS + 10)
        return code, time.monotonic() - began

    def classify_counts(self):
        """This server's Classify RPC count by status code, from /metrics."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        counts = Counter()
        for line in text.splitlines():
            if line.startswith("docclass_rpc_requests_total{") and f'method="{CLASSIFY}"' in line:
                code = re.search(r'code="([^"]+)"', line).group(1)
                counts[code] += int(float(line.rsplit(" ", 1)[1]))
        return counts


class Load:
    """THREADS closed-loop Classify callers on one round_robin channel. Each
    call is recorded as (started, finished, status code name, model_version)."""

    def __init__(self, channel, pb2, pb2_grpc, texts):
        self.stub = pb2_grpc.ClassifierStub(channel)
        self.pb2, self.texts = pb2, texts
        self.records, self.stopping = [], threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(THREADS)]

    def run(self, seed):
        i = seed
        while not self.stopping.is_set():
            request = self.pb2.ClassifyRequest(text=self.texts[i % len(self.texts)])
            i += THREADS
            started = time.monotonic()
            try:
                reply = self.stub.Classify(request)
                self.records.append((started, time.monotonic(), "OK", reply.model_version))
            except grpc.RpcError as e:
                self.records.append((started, time.monotonic(), e.code().name, None))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join()


def failed(records):
    return Counter(code for _, _, code, _ in records if code != "OK")


def make_next_model(bin_dir, models):
    """A second model with the default model's topics and different weights."""
    inputs = sorted(str(p) for p in (ROOT / "training-data").glob("[ef][nr]/*.jsonl"))
    out = subprocess.run(
        [f"{bin_dir}/docclass-train", "--topics", str(ROOT / "training-data/topics.json"),
         "--alpha", "0.3", "--no-validation", "--created-at", "2026-12-06T00:00:00Z",
         "--output", str(models / "next.model"), "--input", *inputs],
        capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"training next.model failed: {out.stderr}")


def texts():
    path = ROOT / "training-data/en/military_operations.jsonl"
    lines = [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    return lines[:50]


def spread_phase(replicas, load_factory):
    before = [r.classify_counts() for r in replicas]
    with load_factory() as load:
        time.sleep(SPREAD_SECS)
    after = [r.classify_counts() for r in replicas]
    per_server = [after[i]["OK"] - before[i]["OK"] for i in range(len(replicas))]
    total = sum(per_server)
    return {
        "seconds": SPREAD_SECS,
        "client_rpcs": len(load.records),
        "client_failed": dict(failed(load.records)),
        "per_server_ok": per_server,
        "shares": [n / total if total else 0.0 for n in per_server],
    }


def restart_phase(replicas, load_factory, health):
    victim = replicas[1]
    with load_factory() as load:
        time.sleep(RESTART_SECS / 4)
        sigterm_at = time.monotonic()
        code, drain = victim.stop()
        time.sleep(1)
        victim.start()
        victim.wait_serving(*health)
        back_at = time.monotonic()
        time.sleep(RESTART_SECS / 2)
    rejoined = victim.classify_counts()["OK"]
    return {
        "client_rpcs": len(load.records),
        "client_failed": dict(failed(load.records)),
        "exit_code": code,
        "drain_secs": drain,
        "down_secs": back_at - sigterm_at,
        "rpcs_while_down": sum(1 for s, _, _, _ in load.records if sigterm_at <= s < back_at),
        "restarted_replica_ok_after": rejoined,
        "seconds_after_back": RESTART_SECS / 2,
    }


def roll_phase(replicas, load_factory, admin_pb2, admin_grpc):
    steps = []
    with load_factory() as load:
        time.sleep(ROLL_PAUSE_SECS)
        for r in replicas:
            with grpc.insecure_channel(r.addr) as channel:
                reply = admin_grpc.AdminStub(channel).ReloadModel(
                    admin_pb2.ReloadModelRequest(model_path="next.model"),
                    metadata=[("authorization", f"Bearer {ADMIN_TOKEN}")], timeout=30)
            steps.append((r.index, reply.previous_model_version, reply.model_version,
                          reply.load_time_ms))
            time.sleep(ROLL_PAUSE_SECS)
        rolled_at = time.monotonic()
        time.sleep(ROLL_PAUSE_SECS)
    old = {s[1] for s in steps}
    new = {s[2] for s in steps}
    versions = Counter(v for _, _, code, v in load.records if code == "OK")
    after = Counter(v for s, _, code, v in load.records if code == "OK" and s >= rolled_at)
    return {
        "client_rpcs": len(load.records),
        "client_failed": dict(failed(load.records)),
        "steps": steps,
        "old": sorted(old),
        "new": sorted(new),
        "versions": dict(versions),
        "unexpected": {v: n for v, n in versions.items() if v not in old | new},
        "after_roll": dict(after),
        "after_roll_not_new": sum(n for v, n in after.items() if v not in new),
    }


def main():
    bin_dir, out_md = sys.argv[1], Path(sys.argv[2])
    work = Path(tempfile.mkdtemp(prefix="docclass-replicas."))
    stubs = Path(tempfile.mkdtemp(prefix="docclass-replicas-stubs."))
    replicas = []
    try:
        pb2, pb2_grpc = generate_stubs(ROOT / "proto", stubs)
        from docclass.v1 import admin_pb2, admin_pb2_grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc
        health = (health_pb2, health_pb2_grpc.HealthStub)
        (work / "models").mkdir()
        shutil.copy(ROOT / "models/default.model", work / "models/default.model")
        make_next_model(bin_dir, work / "models")
        (work / "admin-token").write_text(ADMIN_TOKEN)
        replicas = [Replica(i, bin_dir, work) for i in range(REPLICAS)]
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_serving(*health)
        target = "ipv4:" + ",".join(r.addr for r in replicas)
        corpus = texts()
        with grpc.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)

            def load_factory():
                return Load(channel, pb2, pb2_grpc, corpus)

            spread = spread_phase(replicas, load_factory)
            print("spread", spread, flush=True)
            restart = restart_phase(replicas, load_factory, health)
            print("restart", restart, flush=True)
            roll = roll_phase(replicas, load_factory, admin_pb2, admin_pb2_grpc)
            print("roll", roll, flush=True)
        exits = [r.stop()[0] for r in replicas]
        out_md.write_text(report(spread, restart, roll, exits, target))
        ok = (min(spread["shares"]) >= 0.25 and not spread["client_failed"]
              and not restart["client_failed"] and restart["restarted_replica_ok_after"] > 0
              and not roll["client_failed"] and not roll["unexpected"]
              and roll["after_roll_not_new"] == 0 and roll["after_roll"])
        print("targets met" if ok else "TARGETS NOT MET", flush=True)
        return 0 if ok else 1
    finally:
        for r in replicas:
            if r.proc and r.proc.poll() is None:
                r.proc.kill()
                r.proc.wait()
        shutil.rmtree(stubs, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def verdict(ok):
    return "**pass**" if ok else "**FAIL**"


def tally(counts):
    """`{"a": 3, "b": 1200}` as "`a` 3, `b` 1,200", or 0 when empty."""
    return ", ".join(f"`{k}` {n:,}" for k, n in sorted(counts.items())) or "0"


def report(spread, restart, roll, exits, target):
    shares = ", ".join(f"{s:.1%}" for s in spread["shares"])
    counts = ", ".join(f"{n:,}" for n in spread["per_server_ok"])
    steps = "; ".join(f"replica {i}: `{old}` → `{new}` ({ms} ms)" for i, old, new, ms in roll["steps"])
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return f"""Measured {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} by `bash bench/replicas.sh` on the 2-core shared machine
(three servers, the Python client and anything else running share both cores; `uptime` at the end: {load}).
Client: grpcio {grpc.__version__}, one channel to `{target.split(':')[0]}:` three loopback addresses,
{THREADS} closed-loop threads calling `Classify`; service config: `round_robin`,
`healthCheckConfig` on `{SERVICE}`, retry policy up to 5 attempts on UNAVAILABLE.

| check | measured | target | |
|---|---|---|---|
| spread over {spread['seconds']:.0f} s, Classify RPCs per server from each server's `/metrics` | {counts} = {shares} ({spread['client_rpcs']:,} client RPCs, failed {tally(spread['client_failed'])}) | each ≥ 25% | {verdict(min(spread['shares']) >= 0.25)} |
| replica restart: SIGTERM to replica 1, exit code {restart['exit_code']} after a {restart['drain_secs']:.2f} s drain, started again, SERVING {restart['down_secs']:.1f} s after the signal | {restart['client_rpcs']:,} client RPCs ({restart['rpcs_while_down']:,} while it was down), failed {tally(restart['client_failed'])}; the restarted replica answered {restart['restarted_replica_ok_after']:,} in the next {restart['seconds_after_back']:.0f} s | 0 failed | {verdict(not restart['client_failed'])} |
| rolling model update: `Admin/ReloadModel` to `next.model`, one replica at a time, {ROLL_PAUSE_SECS:.0f} s apart | {roll['client_rpcs']:,} client RPCs, failed {tally(roll['client_failed'])}; versions answered: {tally(roll['versions'])}; any other version: {tally(roll['unexpected'])} | 0 failed | {verdict(not roll['client_failed'] and not roll['unexpected'])} |
| after the roll (RPCs started after the last reload answered) | {sum(roll['after_roll'].values()):,} RPCs: {tally(roll['after_roll'])}; not the new version: {roll['after_roll_not_new']} | all new | {verdict(roll['after_roll_not_new'] == 0 and bool(roll['after_roll']))} |

Reloads, in order: {steps}. Exit codes of the three servers after SIGTERM at the end: {exits}.
"""


if __name__ == "__main__":
    sys.exit(main())
