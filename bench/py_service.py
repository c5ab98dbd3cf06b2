#!/usr/bin/env python3
"""A small Python gRPC service for bench/perf.sh: grpcio + scikit-learn
(CountVectorizer + MultinomialNB trained on training-data/, first label of
each document) implementing docclass.v1.Classifier/Classify, plus the
standard health service, so docclass-bench can load it exactly as it loads
docclass-server.

Stubs are generated from proto/ at start-up (grpcio-tools, into a temporary
directory), with the helper of scripts/real_clients/check_python.py.
"""

import argparse
import json
import sys
import tempfile
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "real_clients"))
from check_python import generate_stubs  # noqa: E402

SERVICE = "docclass.v1.Classifier"
VERSION = "sklearn-count-mnb"


def training_documents(data_dir: Path):
    texts, labels = [], []
    for path in sorted(data_dir.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            title = r.get("title") or ""
            texts.append(f"{title}\n\n{r['text']}" if title else r["text"])
            labels.append(r["labels"][0])
    return texts, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--addr", default="127.0.0.1:50061")
    ap.add_argument("--workers", type=int, default=8, help="thread pool size")
    ap.add_argument("--training-data", type=Path, default=ROOT / "training-data")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="docclass-py-stubs-") as stubs:
        pb2, pb2_grpc = generate_stubs(ROOT / "proto", Path(stubs))
        texts, labels = training_documents(args.training_data)
        vectorizer = CountVectorizer()
        model = MultinomialNB().fit(vectorizer.fit_transform(texts), labels)
        topics = list(model.classes_)

        class Classifier(pb2_grpc.ClassifierServicer):
            def Classify(self, request, context):
                if not request.text.strip():
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "text is empty")
                text = f"{request.title}\n\n{request.text}" if request.title else request.text
                proba = model.predict_proba(vectorizer.transform([text]))[0]
                order = sorted(range(len(topics)), key=lambda i: -proba[i])
                return pb2.ClassifyResponse(
                    id=request.id,
                    topics=[
                        pb2.TopicScore(
                            topic=topics[i],
                            name=topics[i],
                            probability=float(proba[i]),
                            decided=(i == order[0]),
                        )
                        for i in order
                    ],
                    labels=[topics[order[0]]],
                    language="und",
                    model_version=VERSION,
                )

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
        pb2_grpc.add_ClassifierServicer_to_server(Classifier(), server)
        health_servicer = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        if server.add_insecure_port(args.addr) == 0:
            raise SystemExit(f"cannot listen on {args.addr}")
        server.start()
        for name in (SERVICE, ""):
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        print(f"py_service: {len(texts)} training documents, {len(topics)} topics, "
              f"serving on {args.addr}", file=sys.stderr, flush=True)
        server.wait_for_termination()


if __name__ == "__main__":
    main()
