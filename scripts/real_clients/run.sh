#!/usr/bin/env bash
# End-to-end check of docclass-server with real third-party gRPC clients:
#   - grpcurl, through server reflection only (no proto file);
#   - Python grpcio with stubs generated from proto/ at run time
#     (check_python.py), plus grpcio-health-checking and grpcio-reflection.
#
# Usage: bash scripts/real_clients/run.sh
#   DOCCLASS_VENV     Python venv for the clients (default /tmp/docclass-venv;
#                     created and filled from requirements.txt when needed)
#   CARGO_TARGET_DIR  honoured by the server build
#
# Builds the server (release), starts it with the default model on a free
# loopback port, waits for health SERVING (30 s at most), runs the checks,
# always stops the server, and exits non-zero if any check failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

HERE=scripts/real_clients
VENV="${DOCCLASS_VENV:-/tmp/docclass-venv}"
REQS="$HERE/requirements.txt"
READY_TIMEOUT_SECS=30
SERVICE=docclass.v1.Classifier

die() {
  echo "FAIL: $*" >&2
  exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/docclass-real-clients.XXXXXX")"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""

cleanup() {
  local status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "server did not stop within 5 s of SIGTERM; killing it" >&2
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$SERVER_LOG" ]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$SERVER_LOG" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- (a) the clients: a venv with the pinned packages -----------------------
echo "== real clients: Python venv $VENV"
if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  rm -f "$VENV/.docclass-requirements.txt"
  python3 -m venv "$VENV" || die "cannot create a venv at $VENV (python3 -m venv)"
fi
if ! cmp -s "$REQS" "$VENV/.docclass-requirements.txt"; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS" ||
    die "pip install -r $REQS failed"
  cp "$REQS" "$VENV/.docclass-requirements.txt"
fi
PY="$VENV/bin/python"
source bench/lib.sh
GRPCURL=$(find_grpcurl "$VENV") || die "no grpcurl to run"
echo "grpcurl $("$GRPCURL" -version 2>&1 | awk '{print $2}'), $("$PY" -c 'import grpc; print("grpcio", grpc.__version__)')"

# --- (b) build and start the server -----------------------------------------
echo "== real clients: build docclass-server (release)"
# The build's JSON messages name the executable, wherever the target dir is.
SERVER_BIN="$(
  cargo build --release --locked --bin docclass-server --message-format=json-render-diagnostics |
    "$PY" -c '
import json, sys
exe = ""
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "docclass-server" and m.get("executable"):
        exe = m["executable"]
print(exe)'
)" || die "cargo build --release --bin docclass-server failed"
[ -x "$SERVER_BIN" ] || die "the build did not report a docclass-server executable"

# Port 0: the kernel picks a free loopback port, so no other process can take
# it between choosing and binding; the server logs the address it bound.
RUST_LOG=info "$SERVER_BIN" --addr 127.0.0.1:0 --model models/default.model \
  --log-format json --shutdown-grace-secs 5 2>"$SERVER_LOG" &
SERVER_PID=$!

deadline=$((SECONDS + READY_TIMEOUT_SECS))
ADDR=""
while [ -z "$ADDR" ]; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "docclass-server exited during start-up"
  [ "$SECONDS" -lt "$deadline" ] || die "docclass-server did not log its address within ${READY_TIMEOUT_SECS} s"
  ADDR="$("$PY" -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("addr"):
        print(m["addr"])
        break' "$SERVER_LOG")"
  [ -n "$ADDR" ] || sleep 0.1
done
echo "server pid $SERVER_PID on $ADDR"

grpcurl() {
  "$GRPCURL" -plaintext -connect-timeout 2 -max-time 10 "$@"
}

# Health turns SERVING once the model is loaded.
until grpcurl -d "{\"service\":\"$SERVICE\"}" "$ADDR" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "docclass-server exited before turning SERVING"
  [ "$SECONDS" -lt "$deadline" ] || die "health of $SERVICE not SERVING within ${READY_TIMEOUT_SECS} s"
  sleep 0.2
done
echo "health SERVING after $((SECONDS + READY_TIMEOUT_SECS - deadline)) s"

# --- (c) grpcurl checks, through reflection only ----------------------------
echo "== real clients: grpcurl (reflection, no proto file)"
PASSED=0
FAILED=0
pass() {
  PASSED=$((PASSED + 1))
  echo "PASS grpcurl $1"
}
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL grpcurl $1" >&2
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 30 | sed 's/^/    /' >&2; fi
}
# json_check NAME JSON EXPR: EXPR is a Python expression over d (the parsed
# JSON); it must be true. Prints a detail on success when EXPR is a tuple
# (ok, detail).
json_check() {
  local name=$1 json=$2 expr=$3 out
  if out="$("$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
r = eval(sys.argv[2])
ok, detail = r if isinstance(r, tuple) else (r, "")
print(detail)
sys.exit(0 if ok else 1)' "$json" "$expr" 2>&1)"; then
    pass "$name${out:+: $out}"
  else
    fail "$name (assertion: $expr)" "$json${out:+
$out}"
  fi
}

# 1. list, through reflection
if out="$(grpcurl "$ADDR" list 2>&1)"; then
  if printf '%s\n' "$out" | grep -qx "$SERVICE"; then
    pass "list: $(printf '%s' "$out" | tr '\n' ' ')"
  else
    fail "list does not include $SERVICE" "$out"
  fi
else
  fail "list failed" "$out"
fi

# 2. health
if out="$(grpcurl -d "{\"service\":\"$SERVICE\"}" "$ADDR" grpc.health.v1.Health/Check 2>&1)"; then
  json_check "grpc.health.v1.Health/Check" "$out" '(d.get("status") == "SERVING", d.get("status"))'
else
  fail "grpc.health.v1.Health/Check failed" "$out"
fi

# 3. ListTopics: the 10 topic ids of training-data/topics.json, in order
if out="$(grpcurl "$ADDR" docclass.v1.Classifier/ListTopics 2>&1)"; then
  json_check "ListTopics" "$out" '(
    [t["id"] for t in d["topics"]] == [t["id"] for t in json.load(open("training-data/topics.json"))]
    and len(d["topics"]) == 10,
    "10 topics: " + " ".join(t["id"] for t in d["topics"]))'
else
  fail "ListTopics failed" "$out"
fi

# 4. Classify an English sentence about an airstrike and an offensive
req='{"id": "grpcurl-1", "top_k": 3, "text": "Fighter jets carried out an airstrike on militant positions at dawn, and army units then launched a ground offensive to retake the town."}'
if out="$(grpcurl -d "$req" "$ADDR" docclass.v1.Classifier/Classify 2>&1)"; then
  json_check "Classify (English airstrike)" "$out" '(
    d["id"] == "grpcurl-1" and d["topics"][0]["topic"] == "military_operations"
    and d["labels"][0] == "military_operations" and d["language"] == "en" and bool(d.get("modelVersion")),
    "%s p=%.3f, id echoed" % (d["topics"][0]["topic"], d["topics"][0]["probability"]))'
else
  fail "Classify failed" "$out"
fi

# 5. Classify with empty text: InvalidArgument (grpcurl exits 64 + code 3)
rc=0
out="$(grpcurl -d '{"text": ""}' "$ADDR" docclass.v1.Classifier/Classify 2>&1)" || rc=$?
if [ "$rc" -eq 67 ] && printf '%s\n' "$out" | grep -q 'Code: InvalidArgument'; then
  pass "Classify empty text: InvalidArgument (exit $rc)"
else
  fail "Classify empty text: want InvalidArgument (exit 67), got exit $rc" "$out"
fi
echo "grpcurl: $PASSED passed, $FAILED failed"

# --- (c) Python checks -------------------------------------------------------
echo "== real clients: Python grpcio (stubs generated from proto/)"
py_status=0
"$PY" "$HERE/check_python.py" --addr "$ADDR" --proto-dir proto || py_status=$?

kill -0 "$SERVER_PID" 2>/dev/null || die "docclass-server died during the checks"
[ "$FAILED" -eq 0 ] || die "$FAILED grpcurl check(s) failed"
[ "$py_status" -eq 0 ] || die "Python checks failed (exit $py_status)"
echo "== real clients: ok"
