#!/usr/bin/env python3
"""Independent implementation of the assentmark ledger format (docs/ledger-format.md), used to
compute the known-answer vectors in test/vectors/ledger-kat.json. Uses only the Python standard
library plus `cryptography` (Ed25519). It shares no code with the TypeScript implementation.

    python3 test/vectors/ledger-kat.py > test/vectors/ledger-kat.json
"""
import base64
import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization


def jcs(v):
    """RFC 8785 for the subset used here: objects, arrays, strings, safe integers, booleans, null."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        assert abs(v) <= 2**53 - 1, "large integers travel as strings"
        return str(v)
    if isinstance(v, str):
        out = ['"']
        for ch in v:
            c = ord(ch)
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif c < 0x20:
                out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(c, "\\u%04x" % c))
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        # Keys sorted by their UTF-16 code units.
        keys = sorted(v.keys(), key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


def canonical(v):
    return jcs(v).encode("utf-8")


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def leaf_hash(canonical_bytes):
    return sha256(b"\x00", canonical_bytes)


def chain_hash(seq, prev, leaf):
    return sha256(b"\x02", struct.pack(">Q", seq), prev, leaf)


def key_id(raw_pub):
    return sha256(b"assentmark/key-id/v1\x00", raw_pub)[:16].hex()


def genesis_event_id(origin):
    h = bytearray(sha256(b"assentmark/genesis/v1\x00" + origin.encode("utf-8")))
    h[6] = (h[6] & 0x0F) | 0x80
    h[8] = (h[8] & 0x3F) | 0x80
    x = h[:16].hex()
    return f"{x[0:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:32]}"


# RFC 8032 section 7.1, TEST 1 secret key: a well-known seed anyone can check.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
ORIGIN = "example.org/ledger"

sk = Ed25519PrivateKey.from_private_bytes(SEED)
pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
pub_pem = sk.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
kid = key_id(pub)

genesis = {
    "v": 1,
    "id": genesis_event_id(ORIGIN),
    "type": "ledger.genesis",
    "time": "2026-11-29T00:00:00.000Z",
    "data": {
        "origin": ORIGIN,
        "signing_key": {"alg": "Ed25519", "key_id": kid, "public_key": base64.b64encode(pub).decode()},
    },
}
second = {
    "v": 1,
    "id": "0f0e0d0c-0b0a-4908-8706-050403020100",
    "type": "eula.published",
    "time": "2026-11-29T00:00:01.250Z",
    "data": {
        "slug": "terms",
        "version": "1.0.0",
        "title": "Conditions générales \u2014 \"v1\"",
        "text_sha256": hashlib.sha256(b"These are the terms.\n").hexdigest(),
        "text_bytes": 21,
        "max_requests": "18446744073709551615",
        "price_eur": "0.10",
        "tags": ["b", "a", None, True],
    },
}

entries = []
prev = bytes(32)
for seq, ev in enumerate([genesis, second], start=1):
    c = canonical(ev)
    leaf = leaf_hash(c)
    chain = chain_hash(seq, prev, leaf)
    entries.append({
        "seq": seq,
        "event_id": ev["id"],
        "event_type": ev["type"],
        "canonical_utf8": c.decode("utf-8"),
        "canonical_hex": c.hex(),
        "leaf_hash": leaf.hex(),
        "prev_hash": prev.hex(),
        "chain_hash": chain.hex(),
        "chain_input_hex": (b"\x02" + struct.pack(">Q", seq) + prev + leaf).hex(),
    })
    prev = chain

cp_body = canonical({
    "type": "assentmark.checkpoint/v1",
    "origin": ORIGIN,
    "size": 2,
    "chain_hash": prev.hex(),
    "key_id": kid,
    "timestamp": "2026-11-29T00:00:02.000Z",
})
sig = sk.sign(cp_body)

export_lines = [
    json.dumps({"format": "assentmark.ledger-export/v1", "origin": ORIGIN, "exported_at": "2026-11-29T00:00:03.000Z"}, separators=(",", ":")),
    json.dumps({"kind": "checkpoint", "body": base64.b64encode(cp_body).decode(), "signature": base64.b64encode(sig).decode()}, separators=(",", ":")),
]
for e in entries:
    export_lines.append(json.dumps({
        "kind": "entry", "seq": e["seq"], "event_id": e["event_id"], "event_type": e["event_type"],
        "recorded_at": "2026-11-29T00:00:00.000Z",
        "canonical": base64.b64encode(bytes.fromhex(e["canonical_hex"])).decode(),
        "leaf_hash": e["leaf_hash"], "prev_hash": e["prev_hash"], "chain_hash": e["chain_hash"],
    }, separators=(",", ":")))

out = {
    "description": "assentmark ledger known-answer vectors, computed by test/vectors/ledger-kat.py (Python hashlib + cryptography), independent of the TypeScript code. See docs/ledger-format.md.",
    "signing_key": {
        "seed_hex": SEED.hex(),
        "note": "RFC 8032 section 7.1 TEST 1 secret key",
        "public_key_hex": pub.hex(),
        "public_key_base64": base64.b64encode(pub).decode(),
        "public_key_pem": pub_pem,
        "key_id_input_hex": (b"assentmark/key-id/v1\x00" + pub).hex(),
        "key_id": kid,
    },
    "origin": ORIGIN,
    "genesis_id_input_hex": (b"assentmark/genesis/v1\x00" + ORIGIN.encode()).hex(),
    "genesis_event_id": genesis_event_id(ORIGIN),
    "chain_0": bytes(32).hex(),
    "entries": entries,
    "checkpoint": {
        "body_utf8": cp_body.decode(),
        "body_hex": cp_body.hex(),
        "signature_hex": sig.hex(),
        "signature_base64": base64.b64encode(sig).decode(),
    },
    "export_lines": export_lines,
}
json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
