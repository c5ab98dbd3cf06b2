"""The hostile-client suite of the denial-of-service issue (docs/RELIABILITY.md).

    python3 bench/hostile.py BIN_DIR [--cases a,b] [--write docs/RELIABILITY.md]
    python3 bench/hostile.py attack CASE ADDR      (the attacker process itself)

Each case starts a fresh docclass-server (release build, default model) on a
free loopback port, then:

1. baseline: a well-behaved client (`docclass-bench unary --rate 200 -c 32`,
   1 KB news documents, one HTTP/2 connection opened before any attack) runs
   for BASE_SECS with no attack; its p99 is the case's own reference;
2. attack: the same client is started, and once its connection is up the
   attacker (this file, `attack CASE ADDR`, a separate process under
   `nice -n 19`, as its CPU would not be the server's) starts; the
   client's measured window of ATTACK_SECS lies wholly inside the attack;
   Meanwhile a newcomer opens a fresh connection for one Classify every
   half second: clients that connect during an attack must be served too;
3. recovery: the attacker is killed (its sockets close with it) and a fresh
   connection tries Classify every 50 ms; the time to the first of three
   successes in a row is the recovery time;
4. decoy control, only when the p99 target is missed: the same attack is
   aimed at a second, identical server (the decoy) while the client measures
   the first. On this 2-core machine the attacker's own CPU and the kernel's
   loopback work compete with the server and the client; the p99 with the
   attack on the decoy is the part of the rise the server under test did
   not cause.

It records the client's success rate and p99 in both phases, the server's
peak RSS (VmHWM: the server is fresh, so this is the case's peak) and its CPU
use during the attack (utime + stime over the window), and what the attacker
saw. The attacker speaks raw HTTP/2 (the `h2` package) where a gRPC library
would refuse to misbehave.

Targets (the issue's): success >= 99 %, p99 <= 2x its own baseline, peak RSS
<= 256 MB, recovery <= 5 s, 0 unary calls shed beside 500 idle streams, error
headers <= 8 KB; and, added here, >= 99 % of the newcomers' fresh
connections served.
"""

import asyncio
import json
import os
import re
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import free_port, load_averages, proc_status_kb, stop_server, varint, write_block

BASE_SECS = float(os.environ.get("HOSTILE_BASE_SECS", 8))
ATTACK_SECS = float(os.environ.get("HOSTILE_ATTACK_SECS", 15))
RATE = int(os.environ.get("HOSTILE_RATE", 200))
MARK_BEGIN = "<!-- hostile:begin -->"
MARK_END = "<!-- hostile:end -->"

CLASSIFY = "/docclass.v1.Classifier/Classify"
CLASSIFY_STREAM = "/docclass.v1.Classifier/ClassifyStream"
WATCH = "/grpc.health.v1.Health/Watch"


# ---------------------------------------------------------------- wire helpers


def pb_string(field, value):
    data = value.encode("utf-8") if isinstance(value, str) else value
    return varint(field << 3 | 2) + varint(len(data)) + data


def grpc_frame(message):
    return b"\x00" + struct.pack(">I", len(message)) + message


NEWS = (
    "Government forces launched a military offensive against armed groups near the "
    "border on Tuesday, while aid agencies warned that humanitarian access to "
    "displaced families remained blocked. "
) * 4


# --------------------------------------------------------------------- attacks


class H2Client:
    """One raw HTTP/2 connection; reads in the background so SETTINGS and
    GOAWAY are seen. `ack_data` False: never returns flow-control credit, so
    the server's sends block once its window is spent (a non-reading client)."""

    def __init__(self, addr, stats, ack_data=True):
        import h2.config
        import h2.connection

        self.addr = addr
        self.stats = stats
        self.ack_data = ack_data
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.closed = asyncio.Event()
        self.settings_seen = asyncio.Event()
        self.window_opened = asyncio.Event()
        # Streams the server reset: nothing more is sent on them.
        self.reset_streams = set()

    async def open(self):
        host, port = self.addr.rsplit(":", 1)
        self.reader, self.writer = await asyncio.open_connection(host, int(port))
        self.conn.initiate_connection()
        self.flush()
        self.task = asyncio.ensure_future(self.read_loop())

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def read_loop(self):
        import h2.events
        import h2.exceptions

        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                try:
                    events = self.conn.receive_data(data)
                except h2.exceptions.ProtocolError:
                    self.stats["protocol_errors"] = self.stats.get("protocol_errors", 0) + 1
                    break
                for event in events:
                    if isinstance(event, h2.events.RemoteSettingsChanged):
                        self.settings_seen.set()
                        self.window_opened.set()
                    elif isinstance(event, h2.events.WindowUpdated):
                        self.window_opened.set()
                    elif isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                        size = sum(len(k) + len(v) for k, v in event.headers)
                        self.stats["max_header_bytes"] = max(self.stats.get("max_header_bytes", 0), size)
                        for k, v in event.headers:
                            if k == b"grpc-status":
                                key = "grpc_status_" + v.decode()
                                self.stats[key] = self.stats.get(key, 0) + 1
                    elif isinstance(event, h2.events.DataReceived):
                        if self.ack_data:
                            self.conn.acknowledge_received_data(
                                event.flow_controlled_length, event.stream_id
                            )
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        self.stats["goaway"] = self.stats.get("goaway", 0) + 1
                    elif isinstance(event, h2.events.StreamReset):
                        self.stats["server_resets"] = self.stats.get("server_resets", 0) + 1
                        self.reset_streams.add(event.stream_id)
                        # A sender waiting for this stream's credit stops.
                        self.window_opened.set()
                self.flush()
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()

    def headers(self, path):
        return [
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", path.encode()),
            (b":authority", self.addr.encode()),
            (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
        ]

    def start_stream(self, path, body=None, end=False):
        """Opens a stream with a body that fits the flow-control window."""
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, self.headers(path), end_stream=end and body is None)
        if body is not None:
            self.conn.send_data(stream_id, body, end_stream=end)
        self.flush()
        return stream_id

    async def send_body(self, stream_id, body, end=True):
        """Sends a body of any size, waiting for flow-control credit."""
        import h2.exceptions

        view = memoryview(body)
        while view and not self.closed.is_set() and stream_id not in self.reset_streams:
            try:
                room = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
                if room <= 0:
                    self.window_opened.clear()
                    await self.window_opened.wait()
                    continue
                self.conn.send_data(stream_id, bytes(view[:room]), end_stream=end and len(view) <= room)
            except h2.exceptions.StreamClosedError:
                # The server refused the message and reset the stream.
                return
            view = view[room:]
            self.flush()
            await self.writer.drain()

    def close(self):
        if hasattr(self, "writer"):
            self.writer.close()


async def keep_open(count, make, stats, stop):
    """Keeps `count` attacker connections alive: each one that the server
    closes is opened again (an attacker reconnects)."""

    async def one():
        while not stop.is_set():
            try:
                await make()
                stats["opened"] = stats.get("opened", 0) + 1
            except Exception as error:  # noqa: BLE001 -- an attacker carries on whatever happens
                key = "errors_" + type(error).__name__
                stats[key] = stats.get(key, 0) + 1
            await asyncio.sleep(0.05)

    await asyncio.gather(*(one() for _ in range(count)))


async def silent(addr, stats, stop, count=2000, first_bytes=b""):
    host, port = addr.rsplit(":", 1)

    async def make():
        reader, writer = await asyncio.open_connection(host, int(port))
        if first_bytes:
            writer.write(first_bytes)
        try:
            # The server speaks first (its SETTINGS); wait for its close.
            while await reader.read(4096):
                pass
        finally:
            writer.close()
        stats["closed_by_server"] = stats.get("closed_by_server", 0) + 1

    await keep_open(count, make, stats, stop)


async def partial_preface(addr, stats, stop):
    # The first 14 of the 24 preface bytes, then nothing.
    await silent(addr, stats, stop, count=1000, first_bytes=b"PRI * HTTP/2.0\r\n\r\n"[:14])


async def rapid_reset(addr, stats, stop, connections=4):
    """CVE-2023-44487: HEADERS then RST_STREAM, as fast as the socket takes."""
    import h2.exceptions

    async def make():
        client = H2Client(addr, stats)
        await client.open()
        try:
            body = grpc_frame(pb_string(1, NEWS))
            while not stop.is_set() and not client.closed.is_set():
                for _ in range(100):
                    stream_id = client.start_stream(CLASSIFY)
                    client.conn.send_data(stream_id, body, end_stream=False)
                    client.conn.reset_stream(stream_id, error_code=8)
                    stats["streams_reset"] = stats.get("streams_reset", 0) + 1
                client.flush()
                await client.writer.drain()
                await asyncio.sleep(0)
        except (h2.exceptions.ProtocolError, ConnectionError, OSError):
            pass
        finally:
            client.close()

    await keep_open(connections, make, stats, stop)


async def hold_streams(addr, stats, stop, total, per_connection, path, counter, body=None):
    """`total` streams of `path`, `per_connection` to a connection, held open
    until the server ends them; `body`, when given, is sent whole first."""

    async def make():
        client = H2Client(addr, stats)
        await client.open()
        await asyncio.wait_for(client.settings_seen.wait(), 5)
        for _ in range(per_connection):
            client.start_stream(path, body, end=body is not None)
            stats[counter] = stats.get(counter, 0) + 1
        await client.closed.wait()
        client.close()

    await keep_open(total // per_connection, make, stats, stop)


async def idle_streams(addr, stats, stop):
    """Streams opened and never sent a message."""
    await hold_streams(addr, stats, stop, 500, 50, CLASSIFY_STREAM, "streams_opened")


async def non_reading(addr, stats, stop, connections=8, streams=8):
    """Streams that send documents and never give flow-control credit back,
    so the server's responses back up."""

    async def make():
        client = H2Client(addr, stats, ack_data=False)
        await client.open()
        message = grpc_frame(pb_string(1, NEWS))
        ids = [client.start_stream(CLASSIFY_STREAM) for _ in range(streams)]
        try:
            while not stop.is_set() and not client.closed.is_set():
                for stream_id in ids:
                    window = client.conn.local_flow_control_window(stream_id)
                    if window >= len(message):
                        client.conn.send_data(stream_id, message)
                        stats["messages_sent"] = stats.get("messages_sent", 0) + 1
                client.flush()
                await asyncio.sleep(0.01)
        except Exception:  # a stream the server ended: reconnect
            stats["streams_ended"] = stats.get("streams_ended", 0) + 1
        finally:
            client.close()

    await keep_open(connections, make, stats, stop)


async def echo(addr, stats, stop, connections=8, value_bytes=3 << 20, pause_secs=0.5):
    """Unknown topics and a bad language of 3 MB of control bytes: each would
    come back in the error text if it were echoed. Two requests a second per
    connection: the case is amplification, not bandwidth."""
    hostile = "\x01" * value_bytes
    body = grpc_frame(pb_string(1, NEWS) + pb_string(6, hostile) + pb_string(7, hostile))

    async def make():
        client = H2Client(addr, stats)
        await client.open()
        await asyncio.wait_for(client.settings_seen.wait(), 5)
        while not stop.is_set() and not client.closed.is_set():
            stream_id = client.start_stream(CLASSIFY)
            await client.send_body(stream_id, body)
            stats["requests"] = stats.get("requests", 0) + 1
            await asyncio.sleep(pause_secs)
        client.close()

    await keep_open(connections, make, stats, stop)


async def watch_streams(addr, stats, stop):
    await hold_streams(addr, stats, stop, 5000, 50, WATCH, "watch_opened", grpc_frame(b""))


async def descriptor_exhaustion(addr, stats, stop):
    await silent(addr, stats, stop, count=300)


ATTACKS = {
    "silent_connections": (silent, "2,000 TCP connections that never send a byte, reopened when closed"),
    "partial_preface": (partial_preface, "1,000 connections that send 14 of the 24 HTTP/2 preface bytes, then nothing"),
    "rapid_reset": (rapid_reset, "4 connections sending HEADERS+DATA then RST_STREAM in a loop (CVE-2023-44487)"),
    "idle_streams": (idle_streams, "500 ClassifyStream streams (10 connections x 50) that never send a message"),
    "non_reading": (non_reading, "64 ClassifyStream streams (8 x 8) sending documents, never granting flow-control credit"),
    "echo": (echo, "8 connections sending Classify with a 3 MB control-byte topic and language, 2/s each"),
    "heavy_text": (None, "8 clients (docclass-bench -c 8) sending 95 KB of U+FDFA (1 MiB once NFKC-normalised, the most accepted) back to back"),
    "watch_streams": (watch_streams, "5,000 health Watch streams (100 connections x 50), reopened when closed"),
    "descriptors": (descriptor_exhaustion, "300 silent connections against a server started under `ulimit -n 128`"),
}

# Server flags per case, beyond --model/--addr: the stream idle timeout is cut
# so that the non-reading case shows the send-side timeout inside its window.
EXTRA_FLAGS = {"non_reading": ["--stream-idle-timeout-secs", "3"]}


def attack_main(case, addr):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stats = {}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def finish(*_):
        loop.call_soon_threadsafe(stop.set)

    signal.signal(signal.SIGTERM, finish)
    attack = ATTACKS[case][0]
    task = loop.create_task(attack(addr, stats, stop))

    async def until_stopped():
        print("ready", flush=True)
        await stop.wait()
        await asyncio.sleep(0.2)

    try:
        loop.run_until_complete(until_stopped())
    finally:
        task.cancel()
        print(json.dumps(stats), flush=True)
        os._exit(0)


# ------------------------------------------------------------------- the runner


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(bin_dir, addr, secs, warmup, input_file=None, concurrency=32, rate=RATE):
    cmd = [
        f"{bin_dir}/docclass-bench", "unary", "--addr", addr, "-c", str(concurrency),
        "--duration", str(secs), "--warmup", str(warmup), "--json",
        "--timeout", "120" if input_file else "5",
    ]
    if rate:
        cmd += ["--rate", str(rate)]
    if input_file:
        cmd += ["--input", input_file]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def bench_result(process):
    out, err = process.communicate()
    try:
        report = json.loads(out)
    except json.JSONDecodeError:
        return {"error": err.strip()[-300:], "rpcs": 0, "failed_rpcs": 0, "latency_ms": {}}
    return report


def probe_once(addr):
    """One Classify on a fresh connection; True on success."""
    import grpc

    request = pb_string(1, NEWS)
    channel = grpc.insecure_channel(addr)
    try:
        call = channel.unary_unary(CLASSIFY, request_serializer=None, response_deserializer=None)
        call(request, timeout=1)
        return True
    except grpc.RpcError:
        return False
    finally:
        channel.close()


def recovery_secs(addr, limit=30):
    start = time.monotonic()
    in_a_row = 0
    first_ok = None
    while time.monotonic() - start < limit:
        if probe_once(addr):
            if in_a_row == 0:
                first_ok = time.monotonic()
            in_a_row += 1
            if in_a_row == 3:
                return first_ok - start
        else:
            in_a_row = 0
        time.sleep(0.05)
    return None


def start_server(bin_dir, addr, case, log):
    server_bin = os.environ.get("HOSTILE_SERVER", f"{bin_dir}/docclass-server")
    flags = [server_bin, "--model", "models/default.model", "--addr", addr]
    flags += EXTRA_FLAGS.get(case, [])
    limit = None
    if case == "descriptors":
        limit = (128, 128)

    def pre():
        if limit:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)

    server = subprocess.Popen(flags, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=pre)
    for _ in range(200):
        if probe_once(addr):
            return server
        time.sleep(0.05)
    server.kill()
    raise SystemExit(f"{case}: the server did not come up; see its log")


def start_attacker(bin_dir, case, addr, heavy_input):
    """The attack on `addr`, started and ready; see `stop_attacker`."""
    if heavy_input:
        return bench(bin_dir, addr, ATTACK_SECS + 3, 0, heavy_input, concurrency=8, rate=0)
    # Niced: on a real network the attacker's CPU is not the server's; here
    # it shares two cores with the server and client.
    attacker = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, __file__, "attack", case, addr],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    attacker.stdout.readline()
    return attacker


def stop_attacker(attacker, heavy_input):
    """Ends the attack; what the attacker saw."""
    if heavy_input:
        stats = bench_result(attacker)
        return {"rpcs": stats.get("rpcs"), "failed": stats.get("failed_rpcs")}
    attacker.send_signal(signal.SIGTERM)
    out, _ = attacker.communicate(timeout=30)
    return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}


def probe_newcomers(addr, until):
    """A fresh connection with one Classify every half second until `until`
    is set, in a thread; the returned dict fills in as it goes."""
    seen = {"tried": 0, "served": 0}

    def run():
        while not until.is_set():
            seen["tried"] += 1
            seen["served"] += probe_once(addr)
            until.wait(0.5)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    seen["thread"] = thread
    return seen


def run_case(bin_dir, case, workdir):
    addr = f"127.0.0.1:{free_port()}"
    log = open(os.path.join(workdir, f"{case}.log"), "w")
    server = start_server(bin_dir, addr, case, log)
    heavy_input = None
    if case == "heavy_text":
        heavy_input = os.path.join(workdir, "fdfa.jsonl")
        with open(heavy_input, "w") as f:
            # The most U+FDFA the server accepts: NFKC grows each 3-byte
            # character to 33 bytes, and the 1 MiB limit applies after it.
            f.write(json.dumps({"id": "fdfa", "text": "\ufdfa" * ((1 << 20) // 33 - 50)}) + "\n")
    try:
        baseline = bench_result(bench(bin_dir, addr, BASE_SECS, 1))
        client = bench(bin_dir, addr, ATTACK_SECS, 3)
        time.sleep(1)  # the client's connection is up (it warms up for 3 s)
        attacker = start_attacker(bin_dir, case, addr, heavy_input)
        until = threading.Event()
        newcomers = probe_newcomers(addr, until)
        cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
        during = bench_result(client)
        cpu = (cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - wall_before)
        until.set()
        newcomers.pop("thread").join()
        attack_stats = stop_attacker(attacker, heavy_input)
        stopped = time.monotonic()
        recovery = recovery_secs(addr)
        recovery_wait = time.monotonic() - stopped
        peak_rss_mb = (proc_status_kb(server.pid, "VmHWM") or 0) / 1024
        alive = server.poll() is None
        decoy_p99 = None
        base_p99, during_p99 = summarize(baseline)["p99_ms"], summarize(during)["p99_ms"]
        if base_p99 and during_p99 and not p99_within_target(base_p99, during_p99):
            decoy_p99 = decoy_control(bin_dir, case, addr, workdir, heavy_input)
    finally:
        stop_server(server, 15)
        log.close()
    log_text = open(os.path.join(workdir, f"{case}.log")).read()
    statuses = {}
    for method, status in re.findall(r"method=\"?(\w+)\"? status=(\w+)", log_text):
        if status != "Ok":
            key = f"{method} {status}"
            statuses[key] = statuses.get(key, 0) + 1
    warnings = sorted({re.sub(r"^\S+\s+WARN\s+", "", line)[:160] for line in log_text.splitlines() if " WARN " in line})
    return {
        "case": case,
        "baseline": summarize(baseline),
        "during": summarize(during),
        "decoy_p99_ms": decoy_p99,
        "newcomers": newcomers,
        "server_cpu_cores": round(cpu, 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "recovery_secs": None if recovery is None else round(recovery, 2),
        "recovery_waited_secs": round(recovery_wait, 2),
        "server_alive_after": alive,
        "attacker": attack_stats,
        "log_lines": len(log_text.splitlines()),
        "log_warnings": len(re.findall(r" WARN ", log_text)),
        "server_statuses": statuses,
        "warning_kinds": warnings[:3],
    }


def decoy_control(bin_dir, case, addr, workdir, heavy_input):
    """The client's p99 against `addr` while the same attack hits a decoy
    server on this machine instead."""
    decoy_addr = f"127.0.0.1:{free_port()}"
    with open(os.path.join(workdir, f"{case}.decoy.log"), "w") as log:
        decoy = start_server(bin_dir, decoy_addr, case, log)
        try:
            client = bench(bin_dir, addr, ATTACK_SECS, 3)
            time.sleep(1)
            attacker = start_attacker(bin_dir, case, decoy_addr, heavy_input)
            during = bench_result(client)
            stop_attacker(attacker, heavy_input)
        finally:
            stop_server(decoy, 15)
    return summarize(during)["p99_ms"]


def p99_within_target(base_p99, during_p99):
    """The p99 target: during the attack at most twice the baseline (both
    measured)."""
    return bool(during_p99 and base_p99 and during_p99 <= 2 * base_p99)


def summarize(report):
    rpcs = report.get("rpcs", 0)
    failed = report.get("failed_rpcs", 0)
    total = rpcs + failed if "failed_rpcs" in report else rpcs
    return {
        "rpcs": rpcs,
        "failed": failed,
        "success": (rpcs - failed) / rpcs if rpcs else 0.0,
        "p99_ms": report.get("latency_ms", {}).get("p99"),
        "errors": report.get("errors", {}),
        "error": report.get("error"),
        "total": total,
    }


def verdict(row):
    base, during = row["baseline"], row["during"]
    checks = {
        "success >= 99%": during["success"] >= 0.99,
        "p99 <= 2x": p99_within_target(base["p99_ms"], during["p99_ms"]),
        "RSS <= 256 MB": row["peak_rss_mb"] <= 256,
        "recovery <= 5 s": row["recovery_secs"] is not None and row["recovery_secs"] <= 5,
        "newcomers >= 99%": row["newcomers"]["tried"] > 0
        and row["newcomers"]["served"] >= 0.99 * row["newcomers"]["tried"],
    }
    if row["case"] == "idle_streams":
        checks["0 unary shed"] = not any("RESOURCE_EXHAUSTED" in k for k in during["errors"])
    if row["case"] == "echo":
        checks["error headers <= 8 KB"] = row["attacker"].get("max_header_bytes", 0) <= 8192
    return checks


def markdown(rows, load_before, load_after):
    lines = [
        MARK_BEGIN,
        "",
        "Written by `bash bench/hostile.sh` (release build, default model, loopback, a fresh server per case). "
        f"Well-behaved client: `docclass-bench unary --rate {RATE} -c 32`, one connection opened before the attack; "
        f"baseline {BASE_SECS:.0f} s without attack, then {ATTACK_SECS:.0f} s measured inside the attack. "
        "Newcomers: a fresh connection with one Classify every 0.5 s during the attack. "
        "Decoy: the client's p99 with the same attack aimed at a second, identical server instead, "
        "run only when the p99 target is missed (the rise the server under test did not cause). "
        f"Machine: 2 cores; load average before {load_before}, after {load_after}.",
        "",
        "| case | attack | success (base → attack) | p99 ms (base → attack) | p99 ms, decoy | newcomers served | peak RSS MB | server CPU (cores) | recovery s | targets missed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        b, d = row["baseline"], row["during"]
        missed = [name for name, ok in verdict(row).items() if not ok]
        p99 = lambda x: "—" if x is None else f"{x:.1f}"
        lines.append(
            f"| {row['case']} | {ATTACKS[row['case']][1]} | {b['success']:.2%} → {d['success']:.2%} | "
            f"{p99(b['p99_ms'])} → {p99(d['p99_ms'])} | {p99(row['decoy_p99_ms'])} | "
            f"{row['newcomers']['served']}/{row['newcomers']['tried']} | {row['peak_rss_mb']:.0f} | {row['server_cpu_cores']:.2f} | "
            f"{'never' if row['recovery_secs'] is None else row['recovery_secs']} | {', '.join(missed) or 'none'} |"
        )
    lines += ["", "What the attackers saw, and the well-behaved client's errors during the attack:", ""]
    for row in rows:
        lines.append(
            f"- **{row['case']}**: attacker {json.dumps(row['attacker'], sort_keys=True)}; "
            f"client errors {json.dumps(row['during']['errors'], sort_keys=True)}; "
            f"server's non-OK RPCs {json.dumps(row['server_statuses'], sort_keys=True)}; "
            f"server log lines {row['log_lines']} ({row['log_warnings']} warnings"
            + (f", e.g. `{row['warning_kinds'][0]}`" if row["warning_kinds"] else "")
            + ")"
        )
    lines += ["", MARK_END]
    return "\n".join(lines)


def main(argv):
    if argv and argv[0] == "attack":
        attack_main(argv[1], argv[2])
        return 0
    bin_dir = argv[0]
    cases = list(ATTACKS)
    write = None
    args = argv[1:]
    while args:
        flag = args.pop(0)
        if flag == "--cases":
            cases = args.pop(0).split(",")
        elif flag == "--write":
            write = args.pop(0)
        else:
            raise SystemExit(f"unknown argument {flag!r}")
    unknown = [c for c in cases if c not in ATTACKS]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; known: {', '.join(ATTACKS)}")
    load_before = load_averages()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            row = run_case(bin_dir, case, workdir)
            rows.append(row)
            print(json.dumps(row), flush=True)
    load_after = load_averages()
    block = markdown(rows, load_before, load_after)
    print(block)
    if write:
        write_block(write, 'Hostile clients', MARK_BEGIN, MARK_END, block)
    failed = [(row["case"], name) for row in rows for name, ok in verdict(row).items() if not ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
