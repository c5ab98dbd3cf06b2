#!/usr/bin/env python3
"""End-to-end checks of a running docclass-server with the official Python
gRPC client (grpcio), its health-checking and reflection packages.

Stubs are generated from proto/ with grpc_tools.protoc into a temporary
directory at run time; nothing generated is kept.

    python check_python.py --addr 127.0.0.1:50051 [--proto-dir proto]

Prints one PASS or FAIL line per check and a closing count; exits 1 if any
check failed. Run by scripts/real_clients/run.sh, which starts the server.
"""
import argparse
import importlib
import math
import shutil
import sys
import tempfile
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_tools import protoc

SERVICE = "docclass.v1.Classifier"
TIMEOUT = 10.0  # seconds, per call

# Texts written for this check (not from the training corpus).
EN_TEXT = (
    "Fighter jets carried out an airstrike on militant positions at dawn, and "
    "army units then launched a ground offensive to retake the town."
)
FR_TEXT = (
    "Les agences humanitaires ont distribué de la nourriture, de l'eau potable "
    "et des tentes aux familles déplacées qui s'entassent dans les camps de "
    "réfugiés."
)


def generate_stubs(proto_dir: Path, out_dir: Path):
    """Runs protoc (from grpcio-tools) on proto_dir; returns the pb2 modules."""
    protos = sorted(proto_dir.rglob("*.proto"))
    if not protos:
        raise SystemExit(f"FAIL: no .proto file under {proto_dir}")
    include = Path(protoc.__file__).parent / "_proto"  # well-known types
    args = [
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"FAIL: grpc_tools.protoc could not compile {proto_dir}")
    sys.path.insert(0, str(out_dir))
    pb2 = importlib.import_module("docclass.v1.classifier_pb2")
    pb2_grpc = importlib.import_module("docclass.v1.classifier_pb2_grpc")
    return pb2, pb2_grpc


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            detail = fn()
        except AssertionError as e:
            self.failed += 1
            print(f"FAIL python {name}: {e}", flush=True)
        except grpc.RpcError as e:
            self.failed += 1
            print(f"FAIL python {name}: RPC error {e.code().name}: {e.details()}", flush=True)
        except Exception as e:  # noqa: BLE001 - report anything else as a failure too
            self.failed += 1
            print(f"FAIL python {name}: {type(e).__name__}: {e}", flush=True)
        else:
            self.passed += 1
            print(f"PASS python {name}" + (f": {detail}" if detail else ""), flush=True)


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addr", required=True, help="host:port of a running docclass-server")
    ap.add_argument("--proto-dir", default="proto", type=Path)
    opts = ap.parse_args()

    gen_dir = Path(tempfile.mkdtemp(prefix="docclass-pystubs-"))
    try:
        pb2, pb2_grpc = generate_stubs(opts.proto_dir.resolve(), gen_dir)
        with grpc.insecure_channel(opts.addr) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
            except grpc.FutureTimeoutError:
                raise SystemExit(f"FAIL python: cannot connect to {opts.addr} within {TIMEOUT:.0f} s")
            failed = run_checks(channel, pb2, pb2_grpc)
    finally:
        shutil.rmtree(gen_dir, ignore_errors=True)
    sys.exit(1 if failed else 0)


def run_checks(channel, pb2, pb2_grpc) -> int:
    stub = pb2_grpc.ClassifierStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    c = Checks()
    info = stub.GetModelInfo(pb2.GetModelInfoRequest(), timeout=TIMEOUT)
    # How the model makes probabilities: per topic ("isotonic", "platt": each
    # the chance its topic applies) or a softmax over topics (sums to 1).
    calibration = info.calibration
    per_topic = calibration in ("isotonic", "platt")
    # The version every response must name: the model in service when the
    # checks start (nothing reloads it meanwhile). Taken here, not from the
    # first Classify, so that a failed Classify cannot leave the later checks
    # comparing a version with itself.
    version = info.model_version
    if not version:
        raise SystemExit("FAIL python: GetModelInfo gave an empty model_version")

    def check_version(got, what):
        check(got == version, f"{what} model_version {got!r}, want {version!r} (GetModelInfo's)")

    def health_check():
        for service in (SERVICE, ""):
            r = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
            want = health_pb2.HealthCheckResponse.SERVING
            check(r.status == want, f"service {service!r}: status "
                  f"{health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)}, want SERVING")
        return f"{SERVICE} and overall SERVING"

    def classify_one(name, text, want_topic, want_lang, want_name):
        def fn():
            r = stub.Classify(pb2.ClassifyRequest(id=name, text=text), timeout=TIMEOUT)
            check(r.id == name, f"id {r.id!r} not echoed (want {name!r})")
            check(len(r.topics) == 10, f"{len(r.topics)} topics, want all 10 (top_k 0)")
            top = r.topics[0]
            check(top.topic == want_topic, f"top topic {top.topic!r}, want {want_topic!r} "
                  f"(topics: {[(t.topic, round(t.probability, 3)) for t in r.topics[:3]]})")
            check(top.name == want_name, f"top topic name {top.name!r}, want {want_name!r}")
            check(r.labels and r.labels[0] == want_topic, f"labels {list(r.labels)}, want {want_topic!r} first")
            check(r.language == want_lang, f"language {r.language!r}, want {want_lang!r}")
            probs = [t.probability for t in r.topics]
            check(all(a >= b for a, b in zip(probs, probs[1:])), f"topics not sorted: {probs}")
            total = math.fsum(probs)
            check(all(0.0 <= p <= 1.0 for p in probs), f"a probability outside [0, 1]: {probs}")
            if per_topic:
                check(top.probability >= 0.5 and top.decided,
                      f"{calibration} model: top topic {top.topic} p={top.probability}, decided {top.decided}; "
                      "want a clear article's topic decided with a probability >= 0.5")
            else:
                check(abs(total - 1.0) < 1e-6, f"probabilities sum to {total}, want 1")
            check_version(r.model_version, "Classify")
            return (f"{top.topic} p={top.probability:.3f} lang={r.language} sum={total:.6f} "
                    f"({calibration}) model {r.model_version}")
        return fn

    def classify_batch():
        docs = [
            pb2.ClassifyRequest(id="b0", text=EN_TEXT),
            pb2.ClassifyRequest(id="b1", text="   "),
            pb2.ClassifyRequest(id="b2", text=FR_TEXT),
        ]
        r = stub.ClassifyBatch(pb2.ClassifyBatchRequest(documents=docs), timeout=TIMEOUT)
        check(len(r.outcomes) == 3, f"{len(r.outcomes)} outcomes, want 3")
        check_version(r.model_version, "ClassifyBatch")
        for i, o in enumerate(r.outcomes):
            check(o.index == i and o.id == f"b{i}", f"outcome {i}: index {o.index} id {o.id!r}")
        first, bad, last = r.outcomes
        check(first.WhichOneof("outcome") == "result", f"b0: {first.WhichOneof('outcome')}, want result")
        check_version(first.result.model_version, "ClassifyBatch b0")
        check(first.result.labels[:1] == ["military_operations"], f"b0 labels {list(first.result.labels)}")
        check(bad.WhichOneof("outcome") == "error", f"b1: {bad.WhichOneof('outcome')}, want error")
        check(bad.error.code == 3, f"b1 error code {bad.error.code}, want 3 (INVALID_ARGUMENT)")
        # The field is a path into the batch request (src/service/conversions.rs).
        check(bad.error.field == "documents[1].text",
              f"b1 error field {bad.error.field!r}, want 'documents[1].text'")
        check(bad.error.message, "b1 error message is empty")
        check(last.WhichOneof("outcome") == "result", f"b2: {last.WhichOneof('outcome')}, want result")
        check(last.result.labels[:1] == ["humanitarian_aid"], f"b2 labels {list(last.result.labels)}")
        return f"ok, error, ok; middle: code {bad.error.code} field {bad.error.field!r}"

    def classify_stream():
        texts = {"s0": EN_TEXT, "s1": FR_TEXT, "s2": "Ministers met in Geneva for peace talks and signed a ceasefire agreement."}
        reqs = (pb2.ClassifyRequest(id=k, text=v) for k, v in texts.items())
        outcomes = list(stub.ClassifyStream(reqs, timeout=TIMEOUT))
        check(len(outcomes) == 3, f"{len(outcomes)} outcomes, want 3")
        ids = [o.id for o in outcomes]
        check(ids == list(texts), f"ids {ids}, want {list(texts)}")
        check([o.index for o in outcomes] == [0, 1, 2], f"indexes {[o.index for o in outcomes]}")
        for o in outcomes:
            check(o.WhichOneof("outcome") == "result", f"{o.id}: {o.WhichOneof('outcome')}, want result")
        tops = [o.result.topics[0].topic for o in outcomes]
        check(tops[:2] == ["military_operations", "humanitarian_aid"], f"top topics {tops}")
        return f"3 outcomes in order, top topics {tops}"

    def list_topics():
        r = stub.ListTopics(pb2.ListTopicsRequest(), timeout=TIMEOUT)
        ids = [t.id for t in r.topics]
        check(len(ids) == 10, f"{len(ids)} topics, want 10: {ids}")
        check("military_operations" in ids and "other" in ids, f"ids {ids}")
        check(all(t.name_en and t.name_fr and t.description for t in r.topics), "a topic lacks a name or description")
        check_version(r.model_version, "ListTopics")
        return f"{len(ids)} topics"

    def model_info():
        r = stub.GetModelInfo(pb2.GetModelInfoRequest(), timeout=TIMEOUT)
        check_version(r.model_version, "GetModelInfo")
        check(r.model_file == "default.model", f"model_file {r.model_file!r}, want 'default.model'")
        check(r.features > 0, f"features {r.features}")
        check(r.training_corpus.documents > 0, "training_corpus.documents is 0")
        check(r.loaded_at, "loaded_at is empty")
        check(r.calibration in ("isotonic", "platt", "temperature", "none"), f"calibration {r.calibration!r}")
        return f"{r.model_file} version {r.model_version}, {r.features} features, {r.training_corpus.documents} training docs"

    def empty_text():
        try:
            stub.Classify(pb2.ClassifyRequest(text=""), timeout=TIMEOUT)
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"code {e.code().name}, want INVALID_ARGUMENT")
            return f"INVALID_ARGUMENT: {e.details()}"
        raise AssertionError("Classify with empty text succeeded, want INVALID_ARGUMENT")

    def reflection():
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        req = reflection_pb2.ServerReflectionRequest(list_services="")
        responses = list(refl.ServerReflectionInfo(iter([req]), timeout=TIMEOUT))
        check(len(responses) == 1, f"{len(responses)} reflection responses, want 1")
        names = sorted(s.name for s in responses[0].list_services_response.service)
        for want in (SERVICE, "grpc.health.v1.Health"):
            check(want in names, f"{want} not listed: {names}")
        return ", ".join(names)

    c.run("health Check SERVING", health_check)
    c.run("Classify English", classify_one("en-1", EN_TEXT, "military_operations", "en", "Military operations"))
    c.run("Classify French", classify_one("fr-1", FR_TEXT, "humanitarian_aid", "fr", "Aide humanitaire"))
    c.run("ClassifyBatch with a bad document", classify_batch)
    c.run("ClassifyStream of 3", classify_stream)
    c.run("ListTopics", list_topics)
    c.run("GetModelInfo", model_info)
    c.run("Classify empty text", empty_text)
    c.run("reflection v1alpha list services", reflection)
    print(f"python: {c.passed} passed, {c.failed} failed", flush=True)
    return c.failed


if __name__ == "__main__":
    main()
