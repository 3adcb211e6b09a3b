#!/usr/bin/env python3
"""Independent implementation of the assentmark ledger format (docs/ledger-format.md), used to
compute the known-answer vectors in test/vectors/ledger-kat.json (format 1: the hash chain and the
first version's JSON checkpoints) and test/vectors/ledger-kat-v2.json (format 2: the RFC 9162
Merkle tree, C2SP tlog-tiles, C2SP signed-note checkpoints, key rotation, the export file, the
RFC 3161 request of a checkpoint, and the verifier's fault codes).

It shares no code with the TypeScript implementation and uses only the Python standard library
(hashlib, base64, json, decimal, subprocess, tempfile). Ed25519 is not in the standard library:
signatures and public keys come from the OpenSSL 3 command line (`openssl pkeyutl -sign -rawin`
with a PKCS#8 PEM made from a fixed 32-byte seed), and are cross-checked against the RFC 8032
section 6 reference algorithm written out below, which also verifies signatures for the verifier.

    python3 test/vectors/ledger-kat.py                 # rewrites both files next to this script
    python3 test/vectors/ledger-kat.py --out-dir DIR   # writes them into DIR instead

The output is deterministic: running it twice gives the same bytes (test/ledger-format-v2.test.ts
checks that a fresh run equals the committed files).
"""
import base64
import decimal
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------------------------------------
# RFC 8785 (JCS)


def es_number(x):
    """ECMAScript Number::toString of a double (RFC 8785 section 3.2.2.3)."""
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("NaN and infinities are not JSON")
    if x == 0:
        return "0"  # also -0
    if x < 0:
        return "-" + es_number(-x)
    # repr() is the shortest string that reads back as x: the digits ECMAScript uses.
    t = decimal.Decimal(repr(x)).as_tuple()
    s = "".join(map(str, t.digits)).rstrip("0")
    exp = t.exponent + (len(t.digits) - len(s))
    s = s.lstrip("0")
    k = len(s)
    n = exp + k  # x = 0.s * 10^n
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return (s if k == 1 else s[0] + "." + s[1:]) + "e" + sign + str(abs(e))


def jcs(v):
    """RFC 8785: objects, arrays, strings, numbers (as doubles), booleans, null."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return es_number(v)
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
        # Member names sorted by their UTF-16 code units.
        keys = sorted(v.keys(), key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


def canonical(v):
    return jcs(v).encode("utf-8")


class NotCanonical(Exception):
    pass


def parse_canonical(b):
    """The value of canonical JSON bytes; raises NotCanonical unless re-serialising gives them back."""

    def pairs(ps):
        d = {}
        for k, x in ps:
            if k in d:
                raise NotCanonical("duplicate member name")
            d[k] = x
        return d

    def constant(c):
        raise NotCanonical(c + " is not JSON")

    try:
        text = b.decode("utf-8")  # strict: no overlong forms, no encoded surrogates
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
        again = canonical(value)  # a lone surrogate (from a \\ud800 escape) cannot be encoded
    except (UnicodeError, ValueError, NotCanonical) as e:
        raise NotCanonical(str(e))
    if again != b:
        raise NotCanonical("not in canonical form")
    return value


# ---------------------------------------------------------------------------------------------
# Hashes of the ledger


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


def b64(b):
    return base64.b64encode(b).decode("ascii")


def b64_canonical(s):
    """Standard padded base64 that re-encodes to exactly s, else None."""
    if not isinstance(s, str) or len(s) == 0 or len(s) % 4 != 0:
        return None
    try:
        b = base64.b64decode(s, validate=True)
    except ValueError:
        return None
    return b if b64(b) == s else None


# ---------------------------------------------------------------------------------------------
# Ed25519: OpenSSL signs; the RFC 8032 section 6 reference algorithm cross-checks and verifies

PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def pem(label, der):
    body = b64(der)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def openssl(args):
    r = subprocess.run(["openssl", *args], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


class Key:
    """An Ed25519 key from a fixed seed: OpenSSL derives the public key and signs."""

    def __init__(self, seed):
        self.seed = seed
        self.dir = tempfile.mkdtemp(prefix="assentmark-kat-")
        self.pem_path = os.path.join(self.dir, "key.pem")
        with open(self.pem_path, "w") as f:
            f.write(pem("PRIVATE KEY", PKCS8_PREFIX + seed))
        spki = openssl(["pkey", "-in", self.pem_path, "-pubout", "-outform", "DER"])
        assert spki[:12] == SPKI_PREFIX and len(spki) == 44, "an Ed25519 SubjectPublicKeyInfo"
        self.pub = spki[12:]
        assert self.pub == ed_public_key(seed), "OpenSSL and RFC 8032 derive the same public key"
        self.public_pem = pem("PUBLIC KEY", spki)
        assert self.public_pem == openssl(["pkey", "-in", self.pem_path, "-pubout"]).decode()
        self.key_id = key_id(self.pub)

    def sign(self, msg):
        path = os.path.join(self.dir, "msg.bin")
        with open(path, "wb") as f:
            f.write(msg)
        sig = openssl(["pkeyutl", "-sign", "-rawin", "-inkey", self.pem_path, "-in", path])
        os.unlink(path)
        assert len(sig) == 64
        assert sig == ed_sign(self.seed, msg), "OpenSSL and RFC 8032 give the same signature"
        assert ed_verify(self.pub, msg, sig)
        return sig

    def close(self):
        os.unlink(self.pem_path)
        os.rmdir(self.dir)


ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_I = pow(2, (ED_P - 1) // 4, ED_P)


def _recover_x(y, sign):
    if y >= ED_P:
        return None  # not canonical
    x2 = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P)
    if x2 % ED_P == 0:
        return None if sign else 0  # x = 0 with the sign bit set is not canonical
    x = pow(x2, (ED_P + 3) // 8, ED_P)
    if (x * x - x2) % ED_P != 0:
        x = x * ED_I % ED_P
    if (x * x - x2) % ED_P != 0:
        return None
    if (x & 1) != sign:
        x = ED_P - x
    return x


_GY = 4 * pow(5, ED_P - 2, ED_P) % ED_P
_GX = _recover_x(_GY, 0)
ED_G = (_GX, _GY, 1, _GX * _GY % ED_P)
ED_ZERO = (0, 1, 1, 0)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % ED_P
    b = (p[1] + p[0]) * (q[1] + q[0]) % ED_P
    c = 2 * p[3] * q[3] * ED_D % ED_P
    d = 2 * p[2] * q[2] % ED_P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


def _mul(s, p):
    q = ED_ZERO
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _equal(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % ED_P == 0 and (p[1] * q[2] - q[1] * p[2]) % ED_P == 0


def _compress(p):
    zi = pow(p[2], ED_P - 2, ED_P)
    x, y = p[0] * zi % ED_P, p[1] * zi % ED_P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % ED_P)


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed_public_key(seed):
    return _compress(_mul(_expand(seed)[0], ED_G))


def ed_sign(seed, msg):
    a, prefix = _expand(seed)
    pub = _compress(_mul(a, ED_G))
    r = int.from_bytes(hashlib.sha512(prefix + msg).digest(), "little") % ED_L
    rs = _compress(_mul(r, ED_G))
    k = int.from_bytes(hashlib.sha512(rs + pub + msg).digest(), "little") % ED_L
    return rs + int.to_bytes((r + k * a) % ED_L, 32, "little")


def ed_verify(pub, msg, sig):
    """RFC 8032 5.1.7, strict: canonical A and R, S < L, A not of small order, [8][S]B = [8](R + [k]A)."""
    if not isinstance(sig, bytes) or len(sig) != 64 or len(pub) != 32:
        return False
    a, r = _decompress(pub), _decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= ED_L:
        return False
    if _equal(_mul(8, a), ED_ZERO):
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(), "little") % ED_L
    return _equal(_mul(8, _mul(s, ED_G)), _mul(8, _add(r, _mul(k, a))))


# ---------------------------------------------------------------------------------------------
# RFC 9162 section 2.1: the Merkle tree, its proofs and their verification

EMPTY_ROOT = sha256(b"")


def node_hash(left, right):
    return sha256(b"\x01", left, right)


def split(n):
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """MTH over leaves[lo:hi], memoised (the leaves are leaf hashes)."""

    def __init__(self, leaves):
        self.leaves = leaves
        self.memo = {}

    def mth(self, lo, hi):
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self.leaves[lo]
        key = (lo, hi)
        if key not in self.memo:
            k = split(n)
            self.memo[key] = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        return self.memo[key]

    def path(self, m, lo, hi):
        """PATH(m, D[lo:hi]), m relative to lo (RFC 9162 2.1.3.1)."""
        n = hi - lo
        if n <= 1:
            return []
        k = split(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):
        """SUBPROOF(m, D[lo:hi], b), m relative to lo (RFC 9162 2.1.4.1)."""
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = split(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def inclusion(self, index, size):
        return self.path(index, 0, size)

    def consistency(self, size1, size2):
        if size1 == 0 or size1 == size2:
            return []
        return self.subproof(size1, 0, size2, True)

    def frontier(self, size):
        """The roots of the perfect subtrees of size's binary decomposition, largest first."""
        out, start = [], 0
        for h in range(63, -1, -1):
            if size - start >= 2**h:
                out.append(self.mth(start, start + 2**h))
                start += 2**h
        return out


def verify_inclusion(index, size, leaf, proof, root, trace=None):
    """RFC 9162 2.1.3.2; `trace` collects each step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for i, p in enumerate(proof):
        if sn == 0:
            return False
        step = {"step": i + 1, "fn": fn, "sn": sn, "p": p.hex()}
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            step["rule"] = "r = HASH(0x01 || p || r)"
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
            step["rule"] = "r = HASH(0x01 || r || p)"
        fn >>= 1
        sn >>= 1
        step["r"] = r.hex()
        if trace is not None:
            trace.append(step)
    return sn == 0 and r == root


def verify_consistency(size1, size2, root1, root2, proof, trace=None):
    """RFC 9162 2.1.4.2 for 0 < size1 < size2; equal sizes and size1 = 0 as documented."""
    if size1 > size2:
        return False
    if size1 == size2:
        return proof == [] and root1 == root2
    if size1 == 0:
        return proof == [] and root1 == EMPTY_ROOT
    if not proof:
        return False
    path = [root1] + proof if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    if trace is not None:
        trace.append({"step": 0, "fn": fn, "sn": sn, "fr": fr.hex(), "sr": sr.hex()})
    for i, c in enumerate(path[1:]):
        if sn == 0:
            return False
        step = {"step": i + 1, "fn": fn, "sn": sn, "c": c.hex()}
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            step["rule"] = "fr = HASH(0x01 || c || fr); sr = HASH(0x01 || c || sr)"
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
            step["rule"] = "sr = HASH(0x01 || sr || c)"
        fn >>= 1
        sn >>= 1
        step["fr"], step["sr"] = fr.hex(), sr.hex()
        if trace is not None:
            trace.append(step)
    return fr == root1 and sr == root2 and sn == 0


# ---------------------------------------------------------------------------------------------
# C2SP tlog-tiles (height 8)


def tile_index_path(n):
    s = "%03d" % (n % 1000)
    n //= 1000
    while n > 0:
        s = "x%03d/%s" % (n % 1000, s)
        n //= 1000
    return s


def tile_path(level, index, width=256):
    return f"tile/{level}/{tile_index_path(index)}" + ("" if width == 256 else f".p/{width}")


def tile_bytes(tree, size, level, index):
    """The tile's hashes at tree size `size`: nodes of height 8*level, indexes 256*index.. that are complete."""
    w = 2 ** (8 * level)
    count = size // w  # complete nodes of that height
    nodes = range(256 * index, min(256 * index + 256, count))
    return b"".join(tree.mth(i * w, (i + 1) * w) for i in nodes)


def locate(height, index):
    """The tile a node (height, index) comes from: level, tile index, height and index within it, width needed."""
    level, h = height // 8, height % 8
    per_tile = 2 ** (8 - h)
    i = index % per_tile
    return {"level": level, "tile": index // per_tile, "height": h, "index": i, "width": (i + 1) * 2**h}


def tile_node(tile, h, i):
    if h == 0:
        return tile[32 * i:32 * i + 32]
    return node_hash(tile_node(tile, h - 1, 2 * i), tile_node(tile, h - 1, 2 * i + 1))


# ---------------------------------------------------------------------------------------------
# C2SP signed notes and tlog-checkpoint

EM_DASH = "\u2014"
MAX_NOTE = 1_000_000
WHITE_SPACE = set(chr(c) for c in [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000])


def note_key_hash(name, pub):
    return sha256(name.encode("utf-8"), b"\x0a\x01", pub)[:4]


def verifier_key(name, pub):
    return f"{name}+{note_key_hash(name, pub).hex()}+{b64(bytes([1]) + pub)}"


def valid_key_name(name):
    return isinstance(name, str) and len(name) > 0 and not any(
        c in WHITE_SPACE or c == "+" or ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in name)


def sign_note(text, name, key):
    """The whole note and the raw signature over its text."""
    t = text.encode("utf-8")
    sig = key.sign(t)
    line = f"{EM_DASH} {name} {b64(note_key_hash(name, key.pub) + sig)}\n"
    return t + b"\n" + line.encode("utf-8"), sig


def open_note(msg, verifiers):
    """(text bytes, [names of the known keys that signed]) or a failure reason (a string)."""
    if len(msg) > MAX_NOTE:
        return "too-large"
    if any(b < 0x20 and b != 0x0A for b in msg):
        return "control-character"
    try:
        msg.decode("utf-8")
    except UnicodeError:
        return "invalid-utf8"
    cut = msg.rfind(b"\n\n")
    if cut < 0:
        return "no-signature-block"
    text, block = msg[:cut + 1], msg[cut + 2:]
    if not block or block[-1:] != b"\n":
        return "no-signature-block"
    raw_lines = block[:-1].split(b"\n")
    if len(raw_lines) > 100:
        return "too-many-signatures"
    lines = []
    for raw in raw_lines:
        if not raw.startswith(EM_DASH.encode("utf-8") + b" "):
            return "malformed-signature"
        line = raw[4:].decode("utf-8")
        name, _, sig_b64 = line.partition(" ")
        sig = b64_canonical(sig_b64)
        if not valid_key_name(name) or sig is None or len(sig) < 5:
            return "malformed-signature"
        lines.append((line, name, sig[:4], sig[4:]))
    known = {}
    for name, pub in verifiers:
        known.setdefault((name, note_key_hash(name, pub)), []).append(pub)
    signed, seen = [], set()
    for line, name, kh, sig in lines:
        if line in seen:
            continue
        seen.add(line)
        keys = known.get((name, kh))
        if keys is None:
            continue
        if len(keys) > 1:
            return "ambiguous-verifier"
        if not ed_verify(keys[0], text, sig):
            return "invalid-signature"
        if (name, kh) not in signed:
            signed.append((name, kh))
    if not signed:
        return "no-known-signature"
    return (text, signed)


def checkpoint_text(origin, size, root, chain, time):
    return f"{origin}\n{size}\n{b64(root)}\nchain-hash {chain.hex()}\ntime {time}\n"


def valid_time(v):
    """`YYYY-MM-DDTHH:MM:SS.sssZ` naming a real instant (proleptic Gregorian, years 0000-9999)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z", v)
    if not m:
        return False
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return 1 <= mo <= 12 and 1 <= d <= days[mo - 1] and h < 24 and mi < 60 and s < 60


def parse_checkpoint_text(t):
    """(origin, size, root, extension lines) of checkpoint text bytes, or None."""
    if len(t) > MAX_NOTE:
        return None
    try:
        s = t.decode("utf-8")
    except UnicodeError:
        return None
    if any(ord(c) < 0x20 and c != "\n" for c in s) or not s.endswith("\n"):
        return None
    lines = s[:-1].split("\n")
    if len(lines) < 3:
        return None
    origin, size, root, ext = lines[0], lines[1], lines[2], lines[3:]
    if origin == "" or not re.fullmatch(r"0|[1-9][0-9]*", size) or int(size) > 2**53 - 1:
        return None
    r = b64_canonical(root) if re.fullmatch(r"[A-Za-z0-9+/]{43}=", root) else None
    if r is None or any(e == "" for e in ext):
        return None
    return origin, int(size), r, ext


def extension(ext, keyword, valid):
    """The value of the one `keyword <value>` line; None when absent, duplicated or malformed."""
    found = [e for e in ext if e == keyword or e.startswith(keyword + " ")]
    if len(found) != 1 or len(found[0]) <= len(keyword) + 1:
        return None
    v = found[0][len(keyword) + 1:]
    return v if valid(v) else None


# ---------------------------------------------------------------------------------------------
# The verifier (docs/ledger-format.md section 11), for the expected results of the fault cases

EVENT_TYPES = ["ledger.genesis", "eula.published", "acceptance.recorded", "acceptance.declined", "acceptance.withdrawn", "acceptance.displayed",
               "watermark_key.assigned", "watermark_key.rotated", "verification.planned", "verification.recorded",
               "dossier.issued", "signing_key.added", "llm_watermark.parameter_set_registered",
               "llm_verification.planned", "llm_verification.recorded", "llm_watermark.usage_reported",
               "llm_watermark.global_key_created"]
CHECKPOINT_V1_KEYS = ["chain_hash", "key_id", "origin", "size", "timestamp", "type"]


def is_num(v, x):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == x


def read_checkpoint(body):
    """(format, origin, size, chain hash, root or None, key id or None), or None when malformed."""
    if body[:1] == b"{":
        try:
            o = parse_canonical(body)
        except NotCanonical:
            return None
        if not isinstance(o, dict) or sorted(o.keys()) != CHECKPOINT_V1_KEYS or o["type"] != "assentmark.checkpoint/v1":
            return None
        if not all(isinstance(o[k], str) for k in ("origin", "key_id", "timestamp")):
            return None
        size = o["size"]
        if not isinstance(size, (int, float)) or isinstance(size, bool) or size != int(size) or not 1 <= size <= 2**53 - 1:
            return None
        if not isinstance(o["chain_hash"], str) or not re.fullmatch(r"[0-9a-f]{64}", o["chain_hash"]):
            return None
        return (1, o["origin"], int(size), bytes.fromhex(o["chain_hash"]), None, o["key_id"])
    cut = body.rfind(b"\n\n")
    if cut < 0:
        return None
    cp = parse_checkpoint_text(body[:cut + 1])
    if cp is None or cp[1] < 1:
        return None
    chain = extension(cp[3], "chain-hash", lambda v: re.fullmatch(r"[0-9a-f]{64}", v) is not None)
    time = extension(cp[3], "time", valid_time)
    if chain is None or time is None:
        return None
    return (2, cp[0], cp[1], bytes.fromhex(chain), cp[2], None)


def signed_by(cp, pub, origin):
    body, sig = cp
    if body[:1] == b"{":
        return ed_verify(pub, body, sig)
    r = open_note(body, [(origin, pub)])
    if isinstance(r, str):
        return False
    parsed = parse_checkpoint_text(r[0])
    return parsed is not None and parsed[0] == origin and ed_verify(pub, r[0], sig)


class Verifier:
    def __init__(self, trusted=None, origin=None):
        self.trusted, self.want_origin = trusted, origin
        self.expected, self.prev, self.origin = 1, bytes(32), None
        self.keys, self.current, self.untrusted = {}, None, False
        self.cps, self.next_cp, self.verified, self.fault = [], 0, 0, None
        self.leaves = []

    def fail(self, seq, code):
        if self.fault is None:
            self.fault = {"seq": seq, "code": code}
        return False

    def add_checkpoints(self, cps):
        last = 0
        for cp in cps:
            st = read_checkpoint(cp[0])
            if st is None:
                return self.fail(last + 1, "checkpoint_malformed")
            if st[2] < last:
                return self.fail(st[2], "checkpoint_inconsistent")
            last = st[2]
            self.cps.append((st, cp))
        return True

    def push(self, e):
        if self.fault:
            return False
        n = self.expected
        if e["seq"] != n:
            return self.fail(n, "sequence_gap")
        if leaf_hash(e["canonical"]) != e["leaf_hash"]:
            return self.fail(n, "leaf_hash_mismatch")
        if e["prev_hash"] != self.prev:
            return self.fail(n, "prev_hash_mismatch")
        chain = chain_hash(n, self.prev, e["leaf_hash"])
        if chain != e["chain_hash"]:
            return self.fail(n, "chain_hash_mismatch")
        if not self.check_event(n, e):
            return False
        self.leaves.append(e["leaf_hash"])
        self.prev, self.expected = chain, n + 1
        return self.check_checkpoints(n)

    def check_event(self, n, e):
        try:
            o = parse_canonical(e["canonical"])
        except NotCanonical:
            return self.fail(n, "event_not_canonical")
        if not isinstance(o, dict):
            return self.fail(n, "event_malformed")
        if not (is_num(o.get("v"), 1) and all(isinstance(o.get(k), str) for k in ("id", "type", "time"))
                and isinstance(o.get("data"), (dict, list)) and o["type"] in EVENT_TYPES):
            return self.fail(n, "event_malformed")
        if o["id"] != e["event_id"] or o["type"] != e["event_type"]:
            return self.fail(n, "event_row_mismatch")
        if n == 1:
            return self.check_genesis(o)
        if o["type"] == "ledger.genesis":
            return self.fail(n, "genesis_invalid")
        if o["type"] == "signing_key.added":
            return self.check_rotation(n, o["data"])
        return True

    def check_genesis(self, o):
        if o["type"] != "ledger.genesis":
            return self.fail(1, "genesis_missing")
        d = o["data"] if isinstance(o["data"], dict) else {}
        sk = d.get("signing_key")
        if not isinstance(d.get("origin"), str) or not isinstance(sk, dict) or sk.get("alg") != "Ed25519" \
                or not isinstance(sk.get("public_key"), str) or not isinstance(sk.get("key_id"), str):
            return self.fail(1, "genesis_invalid")
        pub = b64_canonical(sk["public_key"])
        if pub is None or len(pub) != 32 or key_id(pub) != sk["key_id"]:
            return self.fail(1, "genesis_invalid")
        if self.want_origin is not None and d["origin"] != self.want_origin:
            return self.fail(1, "genesis_invalid")
        if self.trusted is not None and pub != self.trusted:
            self.untrusted = True
        self.origin = d["origin"]
        self.keys[sk["key_id"]] = pub
        self.current = sk["key_id"]
        return True

    def check_rotation(self, n, d):
        key = d.get("key") if isinstance(d, dict) else None
        if not isinstance(key, dict) or key.get("alg") != "Ed25519" or not all(isinstance(key.get(k), str) for k in ("public_key", "key_id")) \
                or not all(isinstance(d.get(k), str) for k in ("previous_key_id", "authorised_by_previous", "accepted_by_new")) \
                or d.get("origin") != self.origin:
            return self.fail(n, "key_rotation_invalid")
        pub = b64_canonical(key["public_key"])
        if pub is None or len(pub) != 32 or key_id(pub) != key["key_id"] or d["previous_key_id"] != self.current:
            return self.fail(n, "key_rotation_invalid")
        msg = rotation_message(self.origin, d["previous_key_id"], key["key_id"], key["public_key"])
        if not ed_verify(self.keys[self.current], msg, b64_canonical(d["authorised_by_previous"])) \
                or not ed_verify(pub, msg, b64_canonical(d["accepted_by_new"])) or key["key_id"] in self.keys:
            return self.fail(n, "key_rotation_invalid")
        self.keys[key["key_id"]] = pub
        self.current = key["key_id"]
        if self.untrusted and pub == self.trusted:
            self.untrusted = False
        return True

    def check_checkpoints(self, n):
        while self.next_cp < len(self.cps) and self.cps[self.next_cp][0][2] == n:
            (fmt, origin, _, chain, root, kid), raw = self.cps[self.next_cp]
            if origin != self.origin:
                return self.fail(n, "checkpoint_origin_mismatch")
            if fmt == 1:
                if kid not in self.keys:
                    return self.fail(n, "checkpoint_unknown_key")
                if not signed_by(raw, self.keys[kid], self.origin):
                    return self.fail(n, "checkpoint_signature_invalid")
                if kid != self.current:
                    return self.fail(n, "checkpoint_retired_key")
            elif not signed_by(raw, self.keys[self.current], self.origin):
                if any(signed_by(raw, k, self.origin) for k in self.keys.values()):
                    return self.fail(n, "checkpoint_retired_key")
                r = open_note(raw[0], [(self.origin, k) for k in self.keys.values()])
                return self.fail(n, "checkpoint_unknown_key" if r == "no-known-signature" else "checkpoint_signature_invalid")
            if chain != self.prev:
                return self.fail(n, "checkpoint_mismatch")
            if root is not None and root != Tree(self.leaves).mth(0, len(self.leaves)):
                return self.fail(n, "checkpoint_root_mismatch")
            self.verified += 1
            self.next_cp += 1
        return True

    def finish(self):
        size = self.expected - 1
        if self.fault is None and size == 0:
            self.fail(1, "empty_ledger")
        if self.fault is None and self.untrusted:
            self.fail(1, "genesis_key_mismatch")
        if self.fault is None and self.next_cp < len(self.cps):
            self.fail(size + 1, "checkpoint_beyond_end")
        return {
            "ok": self.fault is None,
            "origin": self.origin,
            "size": size,
            "headHash": self.prev.hex() if size > 0 else None,
            "treeRoot": Tree(self.leaves).mth(0, len(self.leaves)).hex(),
            "checkpointsVerified": self.verified,
            "latestCheckpointSize": self.cps[-1][0][2] if self.cps else None,
            "fault": self.fault,
        }


def verify(entries, cps, trusted=None, origin=None):
    v = Verifier(trusted, origin)
    v.add_checkpoints(cps)
    for e in entries:
        if not v.push(e):
            break
    return v.finish()


def rotation_message(origin, previous_key_id, new_key_id, new_public_key):
    statement = {"origin": origin, "previous_key_id": previous_key_id, "key": {"alg": "Ed25519", "key_id": new_key_id, "public_key": new_public_key}}
    return b"assentmark/key-rotation/v1\x00" + canonical(statement)


# ---------------------------------------------------------------------------------------------
# The ledgers

ORIGIN = "example.org/ledger"
# RFC 8032 section 7.1, TEST 1, TEST 2 and TEST 3 secret keys: well-known seeds anyone can check.
SEED_A = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
SEED_C = bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def genesis_event(key):
    return {
        "v": 1,
        "id": genesis_event_id(ORIGIN),
        "type": "ledger.genesis",
        "time": "2026-11-29T00:00:00.000Z",
        "data": {"origin": ORIGIN, "signing_key": {"alg": "Ed25519", "key_id": key.key_id, "public_key": b64(key.pub)}},
    }


EULA_EVENT = {
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


def chain_entries(events):
    entries, prev = [], bytes(32)
    for seq, ev in enumerate(events, start=1):
        c = canonical(ev)
        leaf = leaf_hash(c)
        chain = chain_hash(seq, prev, leaf)
        entries.append({"seq": seq, "event_id": ev["id"], "event_type": ev["type"], "canonical": c,
                        "leaf_hash": leaf, "prev_hash": prev, "chain_hash": chain})
        prev = chain
    return entries


def checkpoint_v1(key, size, chain, timestamp):
    body = canonical({"type": "assentmark.checkpoint/v1", "origin": ORIGIN, "size": size, "chain_hash": chain.hex(),
                      "key_id": key.key_id, "timestamp": timestamp})
    return body, key.sign(body)


def key_json(name, key):
    kh_input = ORIGIN.encode("utf-8") + b"\x0a\x01" + key.pub
    return {
        "name": name,
        "seed_hex": key.seed.hex(),
        "public_key_hex": key.pub.hex(),
        "public_key_base64": b64(key.pub),
        "public_key_pem": key.public_pem,
        "key_id": key.key_id,
        "note_key_name": ORIGIN,
        "note_key_hash_input_hex": kh_input.hex(),
        "note_key_hash": note_key_hash(ORIGIN, key.pub).hex(),
        "note_verifier_key": verifier_key(ORIGIN, key.pub),
    }


def v1_vectors(a):
    """test/vectors/ledger-kat.json: the first version's two-entry ledger and JSON checkpoint."""
    entries = chain_entries([genesis_event(a), EULA_EVENT])
    body, sig = checkpoint_v1(a, 2, entries[-1]["chain_hash"], "2026-11-29T00:00:02.000Z")
    export_lines = [
        compact({"format": "assentmark.ledger-export/v1", "origin": ORIGIN, "exported_at": "2026-11-29T00:00:03.000Z"}),
        compact({"kind": "checkpoint", "body": b64(body), "signature": b64(sig)}),
    ]
    for e in entries:
        export_lines.append(compact({
            "kind": "entry", "seq": e["seq"], "event_id": e["event_id"], "event_type": e["event_type"],
            "recorded_at": "2026-11-29T00:00:00.000Z", "canonical": b64(e["canonical"]),
            "leaf_hash": e["leaf_hash"].hex(), "prev_hash": e["prev_hash"].hex(), "chain_hash": e["chain_hash"].hex(),
        }))
    return {
        "description": "assentmark ledger known-answer vectors (format 1), computed by test/vectors/ledger-kat.py (Python standard library; Ed25519 by OpenSSL, cross-checked with the RFC 8032 reference algorithm), independent of the TypeScript code. See docs/ledger-format.md; format 2 is in ledger-kat-v2.json.",
        "signing_key": {
            "seed_hex": a.seed.hex(),
            "note": "RFC 8032 section 7.1 TEST 1 secret key",
            "public_key_hex": a.pub.hex(),
            "public_key_base64": b64(a.pub),
            "public_key_pem": a.public_pem,
            "key_id_input_hex": (b"assentmark/key-id/v1\x00" + a.pub).hex(),
            "key_id": a.key_id,
        },
        "origin": ORIGIN,
        "genesis_id_input_hex": (b"assentmark/genesis/v1\x00" + ORIGIN.encode()).hex(),
        "genesis_event_id": genesis_event_id(ORIGIN),
        "chain_0": bytes(32).hex(),
        "entries": [{
            "seq": e["seq"],
            "event_id": e["event_id"],
            "event_type": e["event_type"],
            "canonical_utf8": e["canonical"].decode("utf-8"),
            "canonical_hex": e["canonical"].hex(),
            "leaf_hash": e["leaf_hash"].hex(),
            "prev_hash": e["prev_hash"].hex(),
            "chain_hash": e["chain_hash"].hex(),
            "chain_input_hex": (b"\x02" + struct.pack(">Q", e["seq"]) + e["prev_hash"] + e["leaf_hash"]).hex(),
        } for e in entries],
        "checkpoint": {
            "body_utf8": body.decode(),
            "body_hex": body.hex(),
            "signature_hex": sig.hex(),
            "signature_base64": b64(sig),
        },
        "export_lines": export_lines,
    }


def rotation_event(a, b):
    msg = rotation_message(ORIGIN, a.key_id, b.key_id, b64(b.pub))
    data = {
        "origin": ORIGIN,
        "previous_key_id": a.key_id,
        "key": {"alg": "Ed25519", "key_id": b.key_id, "public_key": b64(b.pub)},
        "reason": "scheduled rotation",
        "authorised_by_previous": b64(a.sign(msg)),
        "accepted_by_new": b64(b.sign(msg)),
    }
    ev = {"v": 1, "id": "5a1e0000-0000-4000-8000-000000000005", "type": "signing_key.added", "time": "2026-11-29T00:00:05.000Z", "data": data}
    return ev, msg


def v2_events(a, b):
    actor = {"api_key_id": "ak_01", "name": "gateway"}
    eula_ref = {"id": "e1", "slug": "terms", "version": "1.0.0", "text_sha256": EULA_EVENT["data"]["text_sha256"],
                "effective_at": "2026-11-29T00:00:00.000Z", "event_id": EULA_EVENT["id"]}
    acceptance = {
        "v": 1, "id": "a11ce000-0000-4000-8000-000000000003", "type": "acceptance.recorded", "time": "2026-11-29T00:00:03.000Z",
        "data": {
            "record_id": "r1", "subject": "user-42", "eula": eula_ref, "shown_text_sha256": EULA_EVENT["data"]["text_sha256"],
            "presentation": {"consent_text": "I accept the terms", "button_text": "Accept", "page_url": "https://example.org/signup", "locale": "fr-FR"},
            "client_time": "2026-11-29T00:00:02.900Z", "client": {"ip": "192.0.2.7", "user_agent": "Mozilla/5.0"},
            "auth": {"method": "password", "session_id": "s-1", "mfa": False}, "method": "clickwrap",
            "recorded_by": actor, "idempotency_key": "idem-1", "server_time": "2026-11-29T00:00:03.000Z",
        },
    }
    wm_key = {
        "v": 1, "id": "3a7e0000-0000-4000-8000-000000000004", "type": "watermark_key.assigned", "time": "2026-11-29T00:00:03.500Z",
        "data": {
            "subject": "user-42", "key_version": 1, "key_id": "wk-1",
            "commitment": sha256(b"assentmark/wm-commit/v1\x00wk-1\x00", bytes(32)).hex(),
            "commitment_scheme": 'SHA-256("assentmark/wm-commit/v1" || 0x00 || key_id || 0x00 || key)',
            "acceptance_event_id": acceptance["id"], "kek_id": "0011223344556677",
        },
    }
    rotation, msg = rotation_event(a, b)
    planned = {
        "v": 1, "id": "9a7e0000-0000-4000-8000-000000000006", "type": "verification.planned", "time": "2026-11-29T00:00:06.000Z",
        "data": {
            "plan_id": "p1", "case_ref": "CASE-7", "subjects": ["user-42"], "sample_count": 200,
            "samples_digest": sha256(b"assentmark/wm-plan/v1\n").hex(),
            "samples_digest_scheme": 'SHA-256("assentmark/wm-plan/v1\\n" || for each sample "<input_sha256>:<owner_label>:<num_classes>\\n")',
            "alpha": 0.01, "subjects_screened": 1, "threshold": "p < alpha / subjects_screened", "planned_by": actor,
        },
    }
    dossier = {
        "v": 1, "id": "d0551e00-0000-4000-8000-000000000007", "type": "dossier.issued", "time": "2026-11-29T00:00:07.250Z",
        "data": {
            "dossier_id": "d1", "subject": "user-42", "case_ref": "CASE-7", "requested_by": "counsel",
            "prepared_for": {"name": "A. Avocat", "firm": "Cabinet"}, "issued_by": actor, "verification_ids": [],
            "cited_seqs": [3, 4], "checkpoint": {"size": 5, "chain_hash": "<filled in>"},
            "pdf_sha256": sha256(b"pdf").hex(), "unsigned_pdf_sha256": sha256(b"unsigned").hex(),
            "bundle_sha256": sha256(b"bundle").hex(), "pdf_certificate_sha256": sha256(b"cert").hex(), "pages": 6,
        },
    }
    return [genesis_event(a), EULA_EVENT, acceptance, wm_key, rotation, planned, dossier], msg


def entry_json(e):
    return {
        "seq": e["seq"],
        "event_id": e["event_id"],
        "event_type": e["event_type"],
        "canonical_utf8": e["canonical"].decode("utf-8"),
        "canonical_hex": e["canonical"].hex(),
        "canonical_bytes": len(e["canonical"]),
        "leaf_hash": e["leaf_hash"].hex(),
        "prev_hash": e["prev_hash"].hex(),
        "chain_hash": e["chain_hash"].hex(),
        "chain_input_hex": (b"\x02" + struct.pack(">Q", e["seq"]) + e["prev_hash"] + e["leaf_hash"]).hex(),
    }


def der(tag, content):
    n = len(content)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + content


def der_int(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")  # a leading 0x00 keeps it positive
    return der(0x02, b)


def timestamp_request(digest, nonce):
    """RFC 3161 TimeStampReq: version 1, messageImprint (SHA-256 with NULL parameters), nonce, certReq TRUE."""
    sha256_oid = der(0x06, bytes.fromhex("608648016503040201"))
    imprint = der(0x30, der(0x30, sha256_oid + der(0x05, b"")) + der(0x04, digest))
    return der(0x30, der_int(1) + imprint + der_int(nonce) + der(0x01, b"\xff"))


def cp_json(cp):
    return {"body_hex": cp[0].hex(), "signature_hex": cp[1].hex()}


def v2_vectors(a, b, c):
    events, rot_msg = v2_events(a, b)
    # The dossier cites the checkpoint at size 5: its chain hash is that of entry 5.
    events[6]["data"]["checkpoint"]["chain_hash"] = chain_entries(events[:5])[4]["chain_hash"].hex()
    entries = chain_entries(events)
    leaves = [e["leaf_hash"] for e in entries]
    tree = Tree(leaves)
    n = len(entries)

    # Checkpoints: format 1 at 2 (the first version's, unchanged), format 2 at 4 (key A), 5 and 7 (key B).
    cps, cps_json = [], []
    body, sig = checkpoint_v1(a, 2, entries[1]["chain_hash"], "2026-11-29T00:00:02.000Z")
    cps.append((body, sig))
    cps_json.append({"format": 1, "size": 2, "signed_by": "A", "body_utf8": body.decode(), "body_hex": body.hex(),
                     "signature_hex": sig.hex(), "signature_base64": b64(sig)})
    for size, key, name, time in [(4, a, "A", "2026-11-29T00:00:04.000Z"), (5, b, "B", "2026-11-29T00:00:05.500Z"), (7, b, "B", "2026-11-29T00:00:08.000Z")]:
        root, chain = tree.mth(0, size), entries[size - 1]["chain_hash"]
        text = checkpoint_text(ORIGIN, size, root, chain, time)
        note, sig = sign_note(text, ORIGIN, key)
        assert open_note(note, [(ORIGIN, key.pub)])[0] == text.encode()
        cps.append((note, sig))
        kh = note_key_hash(ORIGIN, key.pub)
        cps_json.append({
            "format": 2, "size": size, "signed_by": name, "root_hash_base64": b64(root), "root_hash_hex": root.hex(),
            "chain_hash": chain.hex(), "time": time,
            "text_utf8": text, "text_hex": text.encode().hex(), "text_bytes": len(text.encode()),
            "signature_hex": sig.hex(), "signature_base64": b64(sig),
            "signature_line_payload_hex": (kh + sig).hex(),
            "signature_line": f"{EM_DASH} {ORIGIN} {b64(kh + sig)}",
            "note_utf8": note.decode("utf-8"), "note_hex": note.hex(), "note_bytes": len(note),
            "note_sha256": sha256(note).hex(),
        })

    # The RFC 3161 request for the latest checkpoint, with a fixed nonce.
    latest_note = cps[-1][0]
    nonce = 0x8000000000000001
    ts_req = timestamp_request(sha256(latest_note), nonce)

    sizes = []
    for s in range(0, n + 1):
        f = tree.frontier(s)
        sizes.append({"size": s, "root": tree.mth(0, s).hex(), "frontier": [h.hex() for h in f], "frontier_hex": b"".join(f).hex()})

    inclusion = []
    for size in range(1, n + 1):
        for i in range(size):
            p = tree.inclusion(i, size)
            assert verify_inclusion(i, size, leaves[i], p, tree.mth(0, size))
            inclusion.append({"seq": i + 1, "leaf_index": i, "tree_size": size, "leaf_hash": leaves[i].hex(), "proof": [h.hex() for h in p], "root": tree.mth(0, size).hex()})
    consistency = []
    for s2 in range(1, n + 1):
        for s1 in range(0, s2 + 1):
            p = tree.consistency(s1, s2)
            assert verify_consistency(s1, s2, tree.mth(0, s1), tree.mth(0, s2), p)
            consistency.append({"size1": s1, "size2": s2, "root1": tree.mth(0, s1).hex(), "root2": tree.mth(0, s2).hex(), "proof": [h.hex() for h in p]})

    def traced_inclusion(i, size):
        t = []
        p = tree.inclusion(i, size)
        assert verify_inclusion(i, size, leaves[i], p, tree.mth(0, size), t)
        return {"leaf_index": i, "tree_size": size, "leaf_hash": leaves[i].hex(), "proof": [h.hex() for h in p], "root": tree.mth(0, size).hex(), "trace": t}

    def traced_consistency(s1, s2):
        t = []
        p = tree.consistency(s1, s2)
        assert verify_consistency(s1, s2, tree.mth(0, s1), tree.mth(0, s2), p, t)
        return {"size1": s1, "size2": s2, "root1": tree.mth(0, s1).hex(), "root2": tree.mth(0, s2).hex(), "proof": [h.hex() for h in p], "trace": t}

    # Named subtree hashes of the 7-leaf tree used in the worked examples.
    nodes = {f"{lo}:{hi}": tree.mth(lo, hi).hex() for lo, hi in [(0, 2), (2, 4), (0, 4), (4, 6), (4, 7), (0, 3), (0, 7)]}

    ledger_tiles = []
    for size in (4, 5, 7):
        t = tile_bytes(tree, size, 0, 0)
        ledger_tiles.append({"tree_size": size, "level": 0, "index": 0, "width": size, "path": tile_path(0, 0, size),
                             "bytes_hex": t.hex(), "bytes": len(t), "sha256": sha256(t).hex()})

    # A larger tree for tiles above level 0: the C2SP tlog-tiles example size, 70,000 leaves, leaf i
    # the leaf hash of the 8 bytes u64be(i).
    big_n = 70_000
    big = Tree([leaf_hash(struct.pack(">Q", i)) for i in range(big_n)])
    big_tiles = []
    for level, index in [(0, 0), (0, 1), (0, 272), (0, 273), (1, 0), (1, 1), (2, 0)]:
        t = tile_bytes(big, big_n, level, index)
        w = len(t) // 32
        big_tiles.append({"level": level, "index": index, "width": w, "path": tile_path(level, index, w), "sha256": sha256(t).hex(),
                          "first_hash": t[:32].hex(), "last_hash": t[-32:].hex()})
    counts = {str(level): -(-(big_n // 2 ** (8 * level)) // 256) for level in range(3)}
    locations = []
    for h, i in [(0, 0), (0, 69999), (3, 8749), (7, 5), (8, 5), (8, 272), (9, 44), (10, 67), (15, 1), (16, 0)]:
        loc = locate(h, i)
        t = tile_bytes(big, big_n, loc["level"], loc["tile"])
        assert len(t) >= 32 * loc["width"]
        hashed = big.mth(i * 2**h, (i + 1) * 2**h)
        assert tile_node(t, loc["height"], loc["index"]) == hashed
        locations.append({"node_height": h, "node_index": i, **loc, "tile_path": tile_path(loc["level"], loc["tile"], len(t) // 32), "hash": hashed.hex()})
    big_inclusion = [{"leaf_index": i, "tree_size": s, "proof": [x.hex() for x in big.inclusion(i, s)]} for i, s in [(0, big_n), (12345, big_n), (69999, big_n), (65535, 65537)]]
    big_consistency = [{"size1": s1, "size2": s2, "proof": [x.hex() for x in big.consistency(s1, s2)]} for s1, s2 in [(1, big_n), (256, big_n), (1234, big_n), (65536, big_n), (69999, big_n)]]
    for p in big_inclusion:
        assert verify_inclusion(p["leaf_index"], p["tree_size"], big.leaves[p["leaf_index"]], [bytes.fromhex(x) for x in p["proof"]], big.mth(0, p["tree_size"]))
    for p in big_consistency:
        assert verify_consistency(p["size1"], p["size2"], big.mth(0, p["size1"]), big.mth(0, p["size2"]), [bytes.fromhex(x) for x in p["proof"]])
    path_examples = [{"level": l, "index": i, "width": w, "path": tile_path(l, i, w)} for l, i, w in
                     [(0, 0, 256), (0, 0, 7), (0, 273, 112), (1, 1, 17), (2, 0, 1), (0, 1000, 256), (0, 1234067, 256), (3, 1234067, 200), (0, 999999, 1)]]

    export_lines = [compact({"format": "assentmark.ledger-export/v2", "origin": ORIGIN, "exported_at": "2026-11-29T00:00:09.000Z"})]
    for body, sig in cps:
        export_lines.append(compact({"kind": "checkpoint", "format": 1 if body[:1] == b"{" else 2, "body": b64(body), "signature": b64(sig)}))
    for e in entries:
        export_lines.append(compact({
            "kind": "entry", "seq": e["seq"], "event_id": e["event_id"], "event_type": e["event_type"],
            "recorded_at": "2026-11-29T00:00:09.000Z", "canonical": b64(e["canonical"]),
            "leaf_hash": e["leaf_hash"].hex(), "prev_hash": e["prev_hash"].hex(), "chain_hash": e["chain_hash"].hex(),
        }))

    faults = fault_cases(entries, cps, a, b, c, tree)
    for case in faults:
        ents, cks = apply_ops(entries, cps, case["ops"])
        trusted = {"A": a.pub, "B": b.pub, "C": c.pub, None: None}[case.get("trusted")]
        report = verify(ents, cks, trusted, case.get("origin"))
        case["expect"] = report["fault"]
        case["report"] = {k: report[k] for k in ("ok", "size", "checkpointsVerified", "latestCheckpointSize")}

    reports = {}
    for name, trusted in [("trusted_A", a.pub), ("trusted_B", b.pub), ("no_trusted_key", None)]:
        reports[name] = verify(entries, cps, trusted, ORIGIN)
        assert reports[name]["ok"], reports[name]
    reports["trusted_C"] = verify(entries, cps, c.pub, ORIGIN)

    return {
        "description": "assentmark ledger known-answer vectors, format 2 (docs/ledger-format.md): computed by test/vectors/ledger-kat.py with the Python standard library and OpenSSL (Ed25519), independently of the TypeScript code. Hashes are lowercase hex unless the name says base64; sizes count entries (leaf index = seq - 1).",
        "origin": ORIGIN,
        "keys": [key_json("A", a), key_json("B", b), key_json("C", c)],
        "keys_note": "A, B, C: RFC 8032 section 7.1 TEST 1, 2 and 3 secret keys. A is the genesis key, B replaces it at entry 5, C belongs to no one in this ledger.",
        "empty_root": EMPTY_ROOT.hex(),
        "genesis_event_id": genesis_event_id(ORIGIN),
        "entries": [entry_json(e) for e in entries],
        "rotation": {"seq": 5, "message_hex": rot_msg.hex(), "message_utf8": rot_msg.decode("utf-8").replace("\x00", "\\u0000"),
                     "authorised_by_previous": events[4]["data"]["authorised_by_previous"], "accepted_by_new": events[4]["data"]["accepted_by_new"]},
        "tree": {"sizes": sizes, "nodes": nodes, "inclusion": inclusion, "consistency": consistency},
        "worked": {
            "inclusion": [traced_inclusion(2, 7), traced_inclusion(6, 7)],
            "consistency": [traced_consistency(3, 7), traced_consistency(4, 7)],
        },
        "tiles": {
            "ledger": ledger_tiles,
            "paths": path_examples,
            "big": {"size": big_n, "leaf": "leaf i = SHA-256(0x00 || u64be(i))", "root": big.mth(0, big_n).hex(), "tile_counts": counts,
                    "tiles": big_tiles, "locations": locations, "inclusion": big_inclusion, "consistency": big_consistency},
        },
        "checkpoints": cps_json,
        "timestamp": {"checkpoint_size": 7, "imprint_sha256": sha256(latest_note).hex(), "nonce_hex": "%x" % nonce, "request_der_hex": ts_req.hex()},
        "export_lines": export_lines,
        "reports": reports,
        "faults": faults,
    }


# ---------------------------------------------------------------------------------------------
# Fault cases: edits of the v2 ledger, each with the fault the verifier must report


def apply_ops(entries, cps, ops):
    ents = [dict(e) for e in entries]
    cks = list(cps)
    for op in ops:
        kind = op["op"]
        if kind == "flip":
            e = ents[op["index"]]
            b = bytearray(e[op["field"]])
            b[op["byte"]] ^= op["mask"]
            e[op["field"]] = bytes(b)
        elif kind == "set":
            ents[op["index"]][op["field"]] = op["value"]
        elif kind == "canonical":
            ents[op["index"]]["canonical"] = bytes.fromhex(op["hex"])
        elif kind == "rehash_from":
            for i in range(op["index"], len(ents)):
                e = ents[i]
                e["leaf_hash"] = leaf_hash(e["canonical"])
                e["prev_hash"] = ents[i - 1]["chain_hash"] if i > 0 else bytes(32)
                e["chain_hash"] = chain_hash(e["seq"], e["prev_hash"], e["leaf_hash"])
        elif kind == "rehash_one":
            e = ents[op["index"]]
            e["leaf_hash"] = leaf_hash(e["canonical"])
            e["chain_hash"] = chain_hash(e["seq"], e["prev_hash"], e["leaf_hash"])
        elif kind == "delete":
            del ents[op["index"]]
        elif kind == "dup":
            ents.insert(op["index"] + 1, dict(ents[op["index"]]))
        elif kind == "truncate":
            ents = ents[:op["size"]]
        elif kind == "checkpoints":
            cks = [cks[i] for i in op["keep"]]
        elif kind == "flip_checkpoint":
            body, sig = cks[op["index"]]
            b = bytearray(body if op["field"] == "body" else sig)
            b[op["byte"]] ^= op["mask"]
            cks[op["index"]] = (bytes(b), sig) if op["field"] == "body" else (body, bytes(b))
        elif kind == "put_checkpoint":
            cks.insert(op["at"], (bytes.fromhex(op["body_hex"]), bytes.fromhex(op["signature_hex"])))
        else:
            raise ValueError(kind)
    return ents, cks


def fault_cases(entries, cps, a, b, c, tree):
    def note(key, size, root=None, chain=None, origin=ORIGIN, name=None, time="2026-11-29T00:00:08.000Z"):
        text = checkpoint_text(origin, size, root or tree.mth(0, size), chain or entries[size - 1]["chain_hash"], time)
        body, sig = sign_note(text, name or origin, key)
        return {"body_hex": body.hex(), "signature_hex": sig.hex()}

    def event_hex(ev):
        return canonical(ev).hex()

    e6 = json.loads(entries[5]["canonical"])
    pretty = json.dumps(e6, indent=1, ensure_ascii=False).encode("utf-8")
    rot_bad = json.loads(entries[4]["canonical"])
    sig = bytearray(base64.b64decode(rot_bad["data"]["authorised_by_previous"]))
    sig[0] ^= 1
    rot_bad["data"]["authorised_by_previous"] = b64(bytes(sig))
    rot_prev = json.loads(entries[4]["canonical"])
    rot_prev["data"]["previous_key_id"] = b.key_id
    second_genesis = dict(genesis_event(a), id="9e000000-0000-4000-8000-000000000006", time="2026-11-29T00:00:06.000Z")
    bad_envelope = dict(e6, v=2)
    unknown_type = dict(e6, type="no.such_type")
    no_data = {k: v for k, v in e6.items() if k != "data"}
    genesis_bad_kid = json.loads(entries[0]["canonical"])
    genesis_bad_kid["data"]["signing_key"]["key_id"] = "00" * 16
    cases = [
        {"id": "intact, trusted key A (the genesis key)", "trusted": "A", "ops": []},
        {"id": "intact, trusted key B (introduced by the rotation at 5)", "trusted": "B", "ops": []},
        {"id": "intact, expected origin given", "trusted": "A", "origin": ORIGIN, "ops": []},
        {"id": "entry 4 deleted", "trusted": "A", "ops": [{"op": "delete", "index": 3}, {"op": "checkpoints", "keep": [0]}]},
        {"id": "entry 3 given twice", "trusted": "A", "ops": [{"op": "dup", "index": 2}, {"op": "checkpoints", "keep": [0]}]},
        {"id": "event bytes of entry 6 edited", "trusted": "A", "ops": [{"op": "flip", "index": 5, "field": "canonical", "byte": 40, "mask": 1}]},
        {"id": "entry 3 rewritten with its own hashes: caught at entry 4", "trusted": "A", "ops": [
            {"op": "canonical", "index": 2, "hex": event_hex(dict(json.loads(entries[2]["canonical"]), time="2026-11-29T00:00:03.001Z"))},
            {"op": "rehash_one", "index": 2}, {"op": "checkpoints", "keep": [0]}]},
        {"id": "chain hash of entry 6 edited", "trusted": "A", "ops": [{"op": "flip", "index": 5, "field": "chain_hash", "byte": 0, "mask": 128}]},
        {"id": "entry 6 pretty-printed and consistently rehashed", "trusted": "A", "ops": [{"op": "canonical", "index": 5, "hex": pretty.hex()}, {"op": "rehash_from", "index": 5}]},
        {"id": "entry 6 with envelope v = 2", "trusted": "A", "ops": [{"op": "canonical", "index": 5, "hex": event_hex(bad_envelope)}, {"op": "rehash_from", "index": 5}]},
        {"id": "entry 6 of an unknown type", "trusted": "A", "ops": [{"op": "canonical", "index": 5, "hex": event_hex(unknown_type)}, {"op": "set", "index": 5, "field": "event_type", "value": "no.such_type"}, {"op": "rehash_from", "index": 5}]},
        {"id": "entry 6 without data", "trusted": "A", "ops": [{"op": "canonical", "index": 5, "hex": event_hex(no_data)}, {"op": "rehash_from", "index": 5}]},
        {"id": "row event type of entry 3 differs from its bytes", "trusted": "A", "ops": [{"op": "set", "index": 2, "field": "event_type", "value": "acceptance.declined"}]},
        {"id": "entry 1 is not a genesis", "trusted": "A", "ops": [{"op": "canonical", "index": 0, "hex": entries[1]["canonical"].hex()}, {"op": "set", "index": 0, "field": "event_id", "value": entries[1]["event_id"]}, {"op": "set", "index": 0, "field": "event_type", "value": entries[1]["event_type"]}, {"op": "rehash_from", "index": 0}, {"op": "checkpoints", "keep": []}]},
        {"id": "genesis key id does not match its key", "trusted": "A", "ops": [{"op": "canonical", "index": 0, "hex": event_hex(genesis_bad_kid)}, {"op": "rehash_from", "index": 0}, {"op": "checkpoints", "keep": []}]},
        {"id": "another origin expected", "trusted": "A", "origin": "someone.else/ledger", "ops": []},
        {"id": "a second genesis at entry 6", "trusted": "A", "ops": [{"op": "canonical", "index": 5, "hex": event_hex(second_genesis)}, {"op": "set", "index": 5, "field": "event_id", "value": second_genesis["id"]}, {"op": "set", "index": 5, "field": "event_type", "value": "ledger.genesis"}, {"op": "rehash_from", "index": 5}, {"op": "checkpoints", "keep": [0, 1, 2]}]},
        {"id": "the trusted key is C, which this ledger never used", "trusted": "C", "ops": []},
        {"id": "rotation not signed by the previous key", "trusted": "A", "ops": [{"op": "canonical", "index": 4, "hex": event_hex(rot_bad)}, {"op": "rehash_from", "index": 4}, {"op": "checkpoints", "keep": [0, 1]}]},
        {"id": "rotation naming the wrong previous key", "trusted": "A", "ops": [{"op": "canonical", "index": 4, "hex": event_hex(rot_prev)}, {"op": "rehash_from", "index": 4}, {"op": "checkpoints", "keep": [0, 1]}]},
        {"id": "checkpoint at 5 is not a checkpoint", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0, 1]}, {"op": "put_checkpoint", "at": 2, "body_hex": b"not a checkpoint\n\n".hex(), "signature_hex": "00" * 64}]},
        {"id": "checkpoint note without its time line", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0]}, {"op": "put_checkpoint", "at": 1, **signed_text(a, f"{ORIGIN}\n4\n{b64(tree.mth(0, 4))}\nchain-hash {entries[3]['chain_hash'].hex()}\n")}]},
        {"id": "checkpoints out of size order", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0, 2, 1, 3]}]},
        {"id": "checkpoint at 4 for another origin", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0]}, {"op": "put_checkpoint", "at": 1, **note(a, 4, origin="other.example/ledger")}]},
        {"id": "format-1 checkpoint signature edited", "trusted": "A", "ops": [{"op": "flip_checkpoint", "index": 0, "field": "signature", "byte": 10, "mask": 4}]},
        {"id": "format-2 checkpoint: one byte of the note's signature edited", "trusted": "A", "ops": [{"op": "flip_checkpoint", "index": 1, "field": "body", "byte": len(cps[1][0]) - 10, "mask": 1}]},
        {"id": "format-2 checkpoint: the separate raw signature edited", "trusted": "A", "ops": [{"op": "flip_checkpoint", "index": 1, "field": "signature", "byte": 0, "mask": 1}]},
        {"id": "format-2 checkpoint: the note text edited (time)", "trusted": "A", "ops": [{"op": "flip_checkpoint", "index": 1, "field": "body", "byte": len(checkpoint_text(ORIGIN, 4, tree.mth(0, 4), entries[3]["chain_hash"], "2026-11-29T00:00:04.000Z")) - 3, "mask": 1}]},
        {"id": "checkpoint at 7 signed by key C", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0, 1, 2]}, {"op": "put_checkpoint", "at": 3, **note(c, 7)}]},
        {"id": "format-1 checkpoint naming an unknown key id", "trusted": "A", "ops": [{"op": "checkpoints", "keep": []}, {"op": "put_checkpoint", "at": 0, **cp_json(checkpoint_v1(c, 2, entries[1]["chain_hash"], "2026-11-29T00:00:02.000Z"))}]},
        {"id": "checkpoint at 7 signed by key A, retired at 5", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0, 1, 2]}, {"op": "put_checkpoint", "at": 3, **note(a, 7)}]},
        {"id": "format-1 checkpoint at 6 by key A, retired at 5", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0, 1, 2]}, {"op": "put_checkpoint", "at": 3, **cp_json(checkpoint_v1(a, 6, entries[5]["chain_hash"], "2026-11-29T00:00:06.500Z"))}]},
        {"id": "checkpoint at 4 stating another chain hash", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0]}, {"op": "put_checkpoint", "at": 1, **note(a, 4, chain=entries[2]["chain_hash"])}]},
        {"id": "checkpoint at 4 stating another Merkle root", "trusted": "A", "ops": [{"op": "checkpoints", "keep": [0]}, {"op": "put_checkpoint", "at": 1, **note(a, 4, root=tree.mth(0, 3))}]},
        {"id": "entries 6 and 7 removed (tail truncated below the checkpoint at 7)", "trusted": "A", "ops": [{"op": "truncate", "size": 5}]},
        {"id": "a consistent rewrite from entry 6 with no checkpoint covering it", "trusted": "A", "ops": [{"op": "canonical", "index": 5, "hex": event_hex(dict(e6, time="2026-11-29T00:00:06.001Z"))}, {"op": "rehash_from", "index": 5}, {"op": "checkpoints", "keep": [0, 1, 2]}]},
        {"id": "the same rewrite, with the checkpoint at 7", "trusted": "A", "ops": [{"op": "canonical", "index": 5, "hex": event_hex(dict(e6, time="2026-11-29T00:00:06.001Z"))}, {"op": "rehash_from", "index": 5}]},
        {"id": "no entries", "trusted": "A", "ops": [{"op": "truncate", "size": 0}, {"op": "checkpoints", "keep": []}]},
        {"id": "the first fault wins: leaf at 3 and chain at 6", "trusted": "A", "ops": [{"op": "flip", "index": 2, "field": "canonical", "byte": 30, "mask": 1}, {"op": "flip", "index": 5, "field": "chain_hash", "byte": 0, "mask": 1}]},
        {"id": "a foreign trusted key and a truncated tail: the key is reported (finish checks it first)", "trusted": "C", "ops": [{"op": "truncate", "size": 6}]},
    ]
    return cases


def signed_text(key, text):
    body, sig = sign_note(text, ORIGIN, key)
    return {"body_hex": body.hex(), "signature_hex": sig.hex()}


# ---------------------------------------------------------------------------------------------


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main(argv):
    out_dir = os.path.dirname(os.path.abspath(__file__))
    if len(argv) == 2 and argv[0] == "--out-dir":
        out_dir = argv[1]
    elif argv:
        sys.exit("usage: ledger-kat.py [--out-dir DIR]")
    a, b, c = Key(SEED_A), Key(SEED_B), Key(SEED_C)
    try:
        write_json(os.path.join(out_dir, "ledger-kat.json"), v1_vectors(a))
        write_json(os.path.join(out_dir, "ledger-kat-v2.json"), v2_vectors(a, b, c))
    finally:
        for k in (a, b, c):
            k.close()


if __name__ == "__main__":
    main(sys.argv[1:])
