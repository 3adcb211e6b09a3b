;; The screening kernel of src/llm-watermark/score.ts in WebAssembly: the green count of prepared
;; tuples (windows of at most 4 tokens) under one key. WebAssembly multiplies 64-bit integers, so
;; each Philox round's two 32x32 -> 64-bit products are one i64.mul each (JavaScript needs four
;; double multiplications and two floors per product). Same arithmetic, word for word, as
;; greenCountPrepared; test/llm-watermark-detect.test.ts compares the two and the reference PRF.
;; Built into score-wasm.ts by `node scripts/build-score-wasm.mjs` (wabt); a test rebuilds it.
;;
;; Memory (little-endian i32 arrays at the byte offsets passed in): first[4 * windows] (round 1 of
;; each window's context call before the key), start[windows + 1], and per tuple lane (t & 3),
;; tokHi and tokLo (hi and lo of M0 * (t >>> 2)).
(module
  (memory (export "memory") 1)
  (func (export "green")
    (param $K0 i32) (param $K1 i32) (param $thr i32) (param $windows i32)
    (param $first i32) (param $start i32) (param $lane i32) (param $tokHi i32) (param $tokLo i32)
    (result i32)
    (local $win i32) (local $r i32) (local $j i32) (local $end i32) (local $g i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32) (local $k0 i32) (local $k1 i32)
    (local $d0 i32) (local $d1 i32) (local $d2 i32) (local $d3 i32) (local $e0 i32) (local $e1 i32)
    (local $p0 i64) (local $p1 i64) (local $n0 i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $tk0 i32) (local $rk0 i32) (local $rk1 i32)
    (local $l i32) (local $word i32) (local $a i32)
    (block $done
      (loop $windows_loop
        (br_if $done (i32.ge_u (local.get $win) (local.get $windows)))
        ;; context call: round 1 precomputed (key XORed into words 0 and 2), rounds 2..10 here
        (local.set $a (i32.add (local.get $first) (i32.shl (local.get $win) (i32.const 4))))
        (local.set $c0 (i32.xor (i32.load (local.get $a)) (local.get $K0)))
        (local.set $c1 (i32.load offset=4 (local.get $a)))
        (local.set $c2 (i32.xor (i32.load offset=8 (local.get $a)) (local.get $K1)))
        (local.set $c3 (i32.load offset=12 (local.get $a)))
        (local.set $k0 (i32.add (local.get $K0) (i32.const 0x9e3779b9)))
        (local.set $k1 (i32.add (local.get $K1) (i32.const 0xbb67ae85)))
        (local.set $r (i32.const 1))
        (loop $ctx_round
          (local.set $p0 (i64.mul (i64.extend_i32_u (local.get $c0)) (i64.const 0xd2511f53)))
          (local.set $p1 (i64.mul (i64.extend_i32_u (local.get $c2)) (i64.const 0xcd9e8d57)))
          (local.set $n0 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p1) (i64.const 32))) (local.get $c1)) (local.get $k0)))
          (local.set $c2 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p0) (i64.const 32))) (local.get $c3)) (local.get $k1)))
          (local.set $c1 (i32.wrap_i64 (local.get $p1)))
          (local.set $c3 (i32.wrap_i64 (local.get $p0)))
          (local.set $c0 (local.get $n0))
          (local.set $k0 (i32.add (local.get $k0) (i32.const 0x9e3779b9)))
          (local.set $k1 (i32.add (local.get $k1) (i32.const 0xbb67ae85)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $ctx_round (i32.lt_u (local.get $r) (i32.const 10))))
        ;; token call: counter (t >>> 2, s0, s1, s2), key (K0 ^ s3, K1 ^ "WMTK"); round 1's product
        ;; of s1 is the window's, the product of t >>> 2 the token's
        (local.set $tk0 (i32.xor (local.get $K0) (local.get $c3)))
        (local.set $p1 (i64.mul (i64.extend_i32_u (local.get $c1)) (i64.const 0xcd9e8d57)))
        (local.set $r0 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p1) (i64.const 32))) (local.get $c0)) (local.get $tk0)))
        (local.set $r1 (i32.wrap_i64 (local.get $p1)))
        (local.set $r2 (i32.xor (local.get $c2) (i32.xor (local.get $K1) (i32.const 0x574d544b))))
        (local.set $rk0 (i32.add (local.get $tk0) (i32.const 0x9e3779b9)))
        (local.set $rk1 (i32.add (i32.xor (local.get $K1) (i32.const 0x574d544b)) (i32.const 0xbb67ae85)))
        (local.set $a (i32.add (local.get $start) (i32.shl (local.get $win) (i32.const 2))))
        (local.set $j (i32.load (local.get $a)))
        (local.set $end (i32.load offset=4 (local.get $a)))
        (block $tokens_done
          (loop $tokens
            (br_if $tokens_done (i32.ge_u (local.get $j) (local.get $end)))
            (local.set $a (i32.shl (local.get $j) (i32.const 2)))
            (local.set $d0 (local.get $r0))
            (local.set $d1 (local.get $r1))
            (local.set $d2 (i32.xor (i32.load (i32.add (local.get $tokHi) (local.get $a))) (local.get $r2)))
            (local.set $d3 (i32.load (i32.add (local.get $tokLo) (local.get $a))))
            (local.set $e0 (local.get $rk0))
            (local.set $e1 (local.get $rk1))
            (local.set $r (i32.const 1))
            (loop $tok_round
              (local.set $p0 (i64.mul (i64.extend_i32_u (local.get $d0)) (i64.const 0xd2511f53)))
              (local.set $p1 (i64.mul (i64.extend_i32_u (local.get $d2)) (i64.const 0xcd9e8d57)))
              (local.set $n0 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p1) (i64.const 32))) (local.get $d1)) (local.get $e0)))
              (local.set $d2 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p0) (i64.const 32))) (local.get $d3)) (local.get $e1)))
              (local.set $d1 (i32.wrap_i64 (local.get $p1)))
              (local.set $d3 (i32.wrap_i64 (local.get $p0)))
              (local.set $d0 (local.get $n0))
              (local.set $e0 (i32.add (local.get $e0) (i32.const 0x9e3779b9)))
              (local.set $e1 (i32.add (local.get $e1) (i32.const 0xbb67ae85)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $tok_round (i32.lt_u (local.get $r) (i32.const 10))))
            (local.set $l (i32.load (i32.add (local.get $lane) (local.get $a))))
            (local.set $word
              (select (local.get $d0)
                (select (local.get $d1) (select (local.get $d2) (local.get $d3) (i32.eq (local.get $l) (i32.const 2))) (i32.eq (local.get $l) (i32.const 1)))
                (i32.eqz (local.get $l))))
            (local.set $g (i32.add (local.get $g) (i32.lt_u (i32.shr_u (local.get $word) (i32.const 8)) (local.get $thr))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tokens)))
        (local.set $win (i32.add (local.get $win) (i32.const 1)))
        (br $windows_loop)))
    (local.get $g)))
