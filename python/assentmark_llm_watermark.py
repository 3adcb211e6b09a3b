"""assentmark text watermark, generation side, Python standard library only.

The normative text is docs/llm-watermark-spec.md; test/vectors/llm-watermark.json holds its
known-answer vectors, and `python3 assentmark_llm_watermark.py --check <vectors>` checks this
module against them (npm test runs it). The PRF is vLLM's "philox4x32-10-v1"
(vllm/v1/watermarking/prfs/philox.py): with the same integer key, vLLM's red/green watermarker
marks the same tokens.

Use in a logits processor (transformers, or vLLM's per-request processors):

    green = GreenList(key_bytes, params)           # key_bytes: 8 bytes from POST /v1/llm-watermark/keys
    mask = green.mask(last_h_token_ids, vocab_size)  # bytes, 1 = green
    for t, g in enumerate(mask): logits[t] += delta if g else 0.0

With the global layer (the endpoint's "global" key), add delta for each layer, the subject's first:

    logits = bias_logits_layers(logits, [green.mask(w, V), global_green.mask(w, V)], delta)
"""

import hashlib
import hmac
import json
import math
import struct
import sys

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
CONTEXT_DOMAIN, TOKEN_DOMAIN = 0x574D4358, 0x574D544B
MASK32 = 0xFFFFFFFF
MANTISSA_SPAN = 1 << 24
SCHEME_VERSION = "assentmark-llm-watermark/v1"
TAG_PARAMS = b"assentmark/llm-wm-params/v1\x00"
TAG_KEY = b"assentmark/llm-wm-key/v1\x00"
TAG_GLOBAL_KEY = b"assentmark/llm-wm-global-key/v1\x00"


def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 (Salmon et al. 2011): four 32-bit counter words under a two-word key."""
    for r in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & MASK32, p1 & MASK32, ((p0 >> 32) ^ c3 ^ k1) & MASK32, p0 & MASK32
        if r != 9:
            k0, k1 = (k0 + W0) & MASK32, (k1 + W1) & MASK32
    return c0, c1, c2, c3


def key_words(key_bytes):
    """The PRF key (8 bytes, little-endian) as (k0, k1); vLLM's integer key is k0 + 2**32 * k1."""
    if len(key_bytes) != 8:
        raise ValueError("a PRF key is 8 bytes")
    return struct.unpack("<II", key_bytes)


def context_state(k0, k1, window):
    """The state of a context window (token ids, oldest first)."""
    s = (CONTEXT_DOMAIN, len(window) & MASK32, 0, 0)
    for off in range(0, len(window), 4):
        block = [(window[off + i] & MASK32) if off + i < len(window) else MASK32 - i for i in range(4)]
        s = philox(*(s[i] ^ block[i] for i in range(4)), (k0 ^ off) & MASK32, k1)
    return s


def token_words(k0, k1, state, j):
    """The PRF words of tokens 4j .. 4j+3 after a context state."""
    return philox(j, state[0], state[1], state[2], (k0 ^ state[3]) & MASK32, (k1 ^ TOKEN_DOMAIN) & MASK32)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def green_threshold(gamma):
    """T(gamma): the number of 24-bit mantissas m with f32((m+1)/(2**24+1)) < f32(gamma)."""
    if not 0 < gamma < 1:
        raise ValueError("gamma must be in (0, 1)")
    g = f32(gamma)
    lo, hi = 0, MANTISSA_SPAN
    while lo < hi:
        mid = (lo + hi) // 2
        if f32((mid + 1) / (MANTISSA_SPAN + 1)) < g:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _jcs_number(x):
    if isinstance(x, bool):
        raise ValueError("booleans are not numbers here")
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e21):
        return str(int(x))
    r = repr(float(x))
    if "e" in r:  # ECMAScript form: 1e-7, 1e+21
        mant, exp = r.split("e")
        r = mant.rstrip("0").rstrip(".") + "e" + ("-" if exp.startswith("-") else "+") + exp.lstrip("+-").lstrip("0")
    return r


def canonical_json(v):
    """RFC 8785 for the values a parameter set holds (objects, strings, numbers)."""
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical_json(x) for k, x in items) + "}"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (int, float)):
        return _jcs_number(v)
    raise ValueError("unsupported value in a parameter set: %r" % (v,))


def parameter_set_id(params):
    """Hex SHA-256(tag || 0x00 || canonical JSON of the parameter set)."""
    return hashlib.sha256(TAG_PARAMS + canonical_json(params).encode("utf-8")).hexdigest()


def hkdf_sha256(ikm, salt, info, length):
    """RFC 5869."""
    prk = hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def derive_text_key(watermark_key, params_id):
    """A subject's 8-byte PRF key from its 32-byte watermark key (the service does this; here to check)."""
    return hkdf_sha256(watermark_key, b"", TAG_KEY + params_id.encode("ascii"), 8)


def derive_global_text_key(global_key, params_id):
    """The global layer's 8-byte PRF key from the 32-byte global key (spec section 6.1)."""
    if len(global_key) != 32:
        raise ValueError("a global key is 32 bytes")
    return hkdf_sha256(global_key, b"", TAG_GLOBAL_KEY + params_id.encode("ascii"), 8)


class GreenList:
    """Green decisions of one key and parameter set."""

    def __init__(self, key_bytes, params):
        self.k0, self.k1 = key_words(key_bytes)
        self.threshold = params["green_threshold"]
        self.window = params["window"]

    def word(self, window, token):
        s = context_state(self.k0, self.k1, window)
        return token_words(self.k0, self.k1, s, token >> 2)[token & 3]

    def is_green(self, window, token):
        return (self.word(window, token) >> 8) < self.threshold

    def mask(self, window, vocab_size):
        if len(window) != self.window:
            raise ValueError("the window has %d tokens" % self.window)
        s = context_state(self.k0, self.k1, window)
        out = bytearray(vocab_size)
        for j in range((vocab_size + 3) // 4):
            ws = token_words(self.k0, self.k1, s, j)
            for w in range(4):
                t = 4 * j + w
                if t < vocab_size:
                    out[t] = 1 if (ws[w] >> 8) < self.threshold else 0
        return bytes(out)


def bias_logits(logits, mask, delta):
    """float32 logits with f32(delta) added to the green ones (vLLM: logits.float() + delta * green)."""
    d = f32(delta)
    return [f32(l + d) if g else f32(l) for l, g in zip(logits, mask)]


def bias_logits_layers(logits, masks, delta):
    """Both layers: the subject's mask, then the global one, each a float32 addition (spec section 6.1)."""
    out = [f32(l) for l in logits]
    for m in masks:
        out = bias_logits(out, m, delta)
    return out


def check(vectors_path):
    """Every vector in the file, recomputed; returns the number checked, raises on the first mismatch."""
    with open(vectors_path, encoding="utf-8") as f:
        v = json.load(f)
    n = 0

    def same(what, got, want):
        nonlocal n
        if got != want:
            raise AssertionError("%s: got %r, want %r" % (what, got, want))
        n += 1

    for k in v["philox"]:
        same("philox", ["%08x" % w for w in philox(*[int(x, 16) for x in k["counter"]], *[int(x, 16) for x in k["key"]])], k["output"])
    for k in v["green_threshold"]:
        same("green_threshold(%r)" % k["gamma"], green_threshold(k["gamma"]), k["threshold"])
    for k in v["parameter_sets"]:
        same("canonical", canonical_json(k["params"]), k["canonical"])
        same("parameter_set_id", parameter_set_id(k["params"]), k["id"])
    for k in v["keys"]:
        key = derive_text_key(bytes.fromhex(k["watermark_key"]), k["parameter_set_id"])
        same("derive_text_key", key.hex(), k["key_hex"])
        k0, k1 = key_words(key)
        same("key integer", str(k0 + (k1 << 32)), k["key_integer"])
    for k in v["windows"]:
        params = {"green_threshold": k["green_threshold"], "window": len(k["window"])}
        g = GreenList(bytes.fromhex(k["key_hex"]), params)
        same("context_state", ["%08x" % w for w in context_state(g.k0, g.k1, k["window"])], k["state"])
        same("words", ["%08x" % g.word(k["window"], t) for t in k["tokens"]], k["words"])
        same("green", [1 if g.is_green(k["window"], t) else 0 for t in k["tokens"]], k["green"])
        mask = g.mask(k["window"], k["vocab_size"])
        same("mask", hashlib.sha256(mask).hexdigest(), k["mask_sha256"])
        same("green count", sum(mask), k["green_count"])
    for k in v["global_keys"]:
        key = derive_global_text_key(bytes.fromhex(k["global_key"]), k["parameter_set_id"])
        same("derive_global_text_key", key.hex(), k["key_hex"])
        k0, k1 = key_words(key)
        same("global key integer", str(k0 + (k1 << 32)), k["key_integer"])
    for k in v["layers"]:
        params = {"green_threshold": k["green_threshold"], "window": len(k["window"])}
        subject_mask = GreenList(bytes.fromhex(k["subject_key_hex"]), params).mask(k["window"], k["vocab_size"])
        global_mask = GreenList(bytes.fromhex(k["global_key_hex"]), params).mask(k["window"], k["vocab_size"])
        same("subject mask", list(subject_mask[: len(k["logits"])]), k["subject_mask"])
        same("global mask", list(global_mask[: len(k["logits"])]), k["global_mask"])
        got = bias_logits_layers(k["logits"], [k["subject_mask"], k["global_mask"]], k["delta"])
        same("layers", ["%08x" % struct.unpack("<I", struct.pack("<f", x))[0] for x in got], k["biased_f32_hex"])
    for k in v["bias"]:
        got = bias_logits(k["logits"], k["mask"], k["delta"])
        same("bias", ["%08x" % struct.unpack("<I", struct.pack("<f", x))[0] for x in got], k["biased_f32_hex"])
    return n


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        print("ok %d vectors" % check(sys.argv[2]))
    else:
        print("usage: assentmark_llm_watermark.py --check <llm-watermark.json>", file=sys.stderr)
        sys.exit(2)
