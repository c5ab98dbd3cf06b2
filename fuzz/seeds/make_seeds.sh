#!/usr/bin/env bash
# Regenerates the committed seed corpora under fuzz/seeds/ (a few KiB in all).
# Each seed starts with the target's selector byte (see each target's doc).
# Run from anywhere: bash fuzz/seeds/make_seeds.sh
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# analyzer: selector byte, then text. Selector s picks analyzer s % 4 and
# hint (s / 4) % 5; these cover each analyzer at least once.
mkdir -p analyzer
seed() { printf "$2" >"analyzer/$1"; }
seed en-default '\000Troops and militia clashed near the border; artillery shelled rebel positions overnight.'
seed fr-chargrams "\001L'armée a mené des frappes aériennes près de la frontière, selon l'ONU. Qu'en dit-on ?"
seed ar-nofilters '\002\330\247\331\204\330\254\331\212\330\264 \330\264\331\206 \330\272\330\247\330\261\330\247\330\252 \330\254\331\210\331\212\330\251 \331\210\330\271\331\210\330\247\330\265\331\201'
seed mixed-reordered '\003Le s\303\251isme \342\200\224 the earthquake \342\200\224 https://example.org/a?b=c news@example.org 12,5 %% 2024-01-01'
seed emoji-zwj-hint-en '\004\360\237\221\250\342\200\215\360\237\221\251\342\200\215\360\237\221\247 \360\237\224\245\360\237\224\245 ok\342\200\213word'
seed rtl-marks-hint-fr '\011\342\200\217\327\251\327\234\327\225\327\235\342\200\216 abc \342\200\217\330\263\331\204\330\247\331\205'
seed nfkc-ligatures-hint-ar '\016\357\254\201\357\254\202 \357\274\241\357\274\242\357\274\243 e\314\201te\314\201 \342\204\226 \342\221\240'
seed control-chars-hint-und '\021a\001b\002c\033[31mred\033[0m\rline\000nul\177del'

# model_file: byte 0 even = a whole file, odd = a payload the target wraps
# in a valid header (bit 1 set: format version 1; else bit 2 set: version 2;
# else the current version).
mkdir -p model_file
fixture="$root/tests/fixtures/tiny-v1.model"
{ printf '\000'; cat "$fixture"; } >model_file/tiny-v1-file
{ printf '\003'; tail -c +53 "$fixture"; } >model_file/tiny-v1-payload
# A format-2 model from six documents, with char n-grams and hashing, so the
# seeds cover both feature modes.
cat >"$scratch/docs.jsonl" <<'JSONL'
{"text": "Troops clashed with militia and artillery shelled rebel positions", "labels": ["conflict"]}
{"text": "Airstrikes hit insurgent bases as soldiers advanced", "labels": ["conflict"]}
{"text": "The earthquake destroyed homes and rescue teams searched the rubble", "labels": ["disaster"]}
{"text": "Floods displaced thousands and aid agencies delivered food", "labels": ["disaster"]}
{"text": "Le club de football a remporté la finale de la coupe", "labels": ["other"]}
{"text": "The orchestra played a concert at the festival", "labels": ["other"]}
JSONL
(cd "$root" && cargo run --quiet --bin docclass-train -- -i "$scratch/docs.jsonl" \
  -o "$scratch/hashed.model" --min-df 1 --hash-bits 8 --char-ngrams 3-4 --no-calibration \
  --exclusive-topic other --created-at 2026-01-01T00:00:00Z >/dev/null)
{ printf '\000'; cat "$scratch/hashed.model"; } >model_file/hashed-v2-file
{ printf '\001'; tail -c +53 "$scratch/hashed.model"; } >model_file/hashed-v2-payload
printf '\000DOCCLASS\002\000\000\000' >model_file/truncated-header

# grpc_request: byte 0 picks the RPC (0 Classify, 1 ClassifyBatch, 2
# ClassifyStream); the rest is the protobuf message. Field numbers from
# proto/docclass/v1/classifier.proto.
mkdir -p grpc_request
python3 - <<'PY'
import os

def field(number, payload):
    """A length-delimited protobuf field."""
    key, n = bytes([number << 3 | 2]), len(payload)
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            break
    return key + bytes(out) + payload

def varint_field(number, value):
    return bytes([number << 3, value])

def request(text, **extra):
    msg = field(1, text.encode())
    for number, payload in extra.get("strings", []):
        msg += field(number, payload.encode())
    for number, value in extra.get("varints", []):
        msg += varint_field(number, value)
    return msg

conflict = request("Troops clashed with militia and artillery shelled rebel positions")
seeds = {
    "classify-plain": b"\x00" + conflict,
    "classify-options": b"\x00" + request(
        "Le séisme a détruit des maisons",
        strings=[(2, "Titre"), (3, "doc-1"), (6, "fr"), (7, "disaster")],
        varints=[(4, 2), (5, 1), (8, 3)],
    ),
    "classify-invalid-utf8": b"\x00" + field(1, b"caf\xe9 \xff\xfe"),
    "batch-two": b"\x01" + field(1, conflict) + field(1, request("Floods displaced thousands")),
    "stream-one": b"\x02" + conflict,
}
for name, data in seeds.items():
    with open(f"grpc_request/{name}", "wb") as f:
        f.write(data)

# grpc_batch_stream: byte 0 bit 0 picks a batch (0) or a stream (1), bits
# 1-2 the repetition; the messages are separated by --8<--.
sep = b"--8<--"
floods = request("Floods displaced thousands")
options = request("Le séisme", strings=[(2, "Titre"), (3, "doc-1"), (6, "fr")], varints=[(4, 1), (5, 1)])
invalid_utf8 = field(1, b"caf\xe9") + field(3, b"bad")
empty_text = field(3, b"no-text")
os.makedirs("grpc_batch_stream", exist_ok=True)
seeds = {
    "batch-mixed": b"\x00" + sep.join([conflict, empty_text, options, floods]),
    "batch-over-limit": b"\x02" + sep.join([conflict, floods, options]),
    "batch-invalid-utf8": b"\x00" + sep.join([conflict, invalid_utf8]),
    "stream-two": b"\x01" + sep.join([conflict, floods]),
    "stream-bad-middle": b"\x01" + sep.join([conflict, b"\xff\xff", floods]),
    "stream-forty": b"\x07" + sep.join([options, empty_text]),
}
for name, data in seeds.items():
    with open(f"grpc_batch_stream/{name}", "wb") as f:
        f.write(data)
PY

# corpus_reader: byte 0 bits 0-1 pick the format (0 JSONL, 1 CSV, 2 fastText,
# 3 CSV named .tsv), bit 2 gzip, bit 4 ignore labels, bit 5 the train split,
# bit 6 a CSV title column with ';' between labels; the rest is the file.
mkdir -p corpus_reader
creader() { printf "$2" >"corpus_reader/$1"; }
creader jsonl-mixed '\000\357\273\277{"id": 7, "title": "T", "text": "Troops clashed", "labels": ["conflict", 3], "lang": "en", "split": "train"}\r\n\n{"text": "no labels"}\n{"text": "", "labels": "x"}\n[1]\n{"text": 5}\n{"text": "t", "label": "a", "lang": "xx"}\n{"text": "caf\351"}\n'
creader jsonl-split-gzip '\044{"text": "a", "labels": ["x"], "split": "train"}\n{"text": "b", "labels": ["y"], "split": "test"}\n'
creader csv-quoted '\001text,labels\n"Troops, militia\nand ""artillery""",conflict|war\nFloods,disaster| \nshort\n"open quote,x\n'
creader csv-title-semicolon '\101title;text;labels\nT;Troops clashed;conflict; war\n;Floods;disaster\n'
creader tsv-unlabelled '\023text\tlabels\nTroops clashed\t\nFloods\tdisaster\n'
creader fasttext-mixed '\002__label__conflict __label__war Troops clashed\n__label__ no label name\nno labels at all\n  __label__a\t__label__b  text\r\n__label__only\n'
creader detect-fasttext '\202__label__x text\n'

du -sh . && ls -l analyzer model_file grpc_request grpc_batch_stream corpus_reader
