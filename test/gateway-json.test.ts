// The gateway's hand-written response serialiser, decideResponseJson, against JSON.stringify:
// property-based (fast-check, fixed seed) over arbitrary result items of both shapes, including
// details full of quotes, backslashes, control characters, U+2028/2029 and lone surrogates.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DecideResultItem } from '../src/gateway/decisions.js';
import { decideResponseJson } from '../src/http/presenters/gateway.js';

const SEED = 0x5eed_2026;
const RUNS = 400;

/**
 * The item as a plain object with its keys in the order the serialiser writes them (JSON.stringify
 * follows insertion order): ok items status, watermarked, label, key_version[, probs]; the others
 * status, watermarked, label[, probs], detail.
 */
function inSerialiserOrder(r: DecideResultItem): Record<string, unknown> {
  if (r.status === 'ok') {
    return { status: r.status, watermarked: r.watermarked, label: r.label, key_version: r.key_version, ...(r.probs ? { probs: r.probs } : {}) };
  }
  return { status: r.status, watermarked: r.watermarked, label: r.label, ...(r.probs ? { probs: r.probs } : {}), detail: r.detail };
}

const expected = (results: readonly DecideResultItem[]): string => JSON.stringify({ results: results.map(inSerialiserOrder) });

/** One UTF-16 code unit of any value, so lone (unpaired) surrogates occur. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
/** The characters JSON escapes or that are easy to get wrong. */
const tricky = fc.oneof(
  fc.constantFrom('"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f', '\u2028', '\u2029', '\ufeff', '\ud800', '\udfff', '🙂', 'é', '東'),
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const anyLatin1 = fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 });
const detail = fc.string({ unit: fc.oneof(anyCodePoint, anyLatin1, codeUnit, tricky), maxLength: 60 });

const label = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat(), fc.integer());
const keyVersion = fc.oneof(fc.integer({ min: 1, max: 10 }), fc.maxSafeNat());
/** Any doubles (NaN, ±Infinity, -0, subnormals too): both sides write probs with JSON.stringify. */
const probs = fc.array(fc.oneof(fc.double(), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 12 });

// Generated with keys in another order than the serialiser writes (and probs present or absent),
// so the comparison shows the serialiser's order, not the input's, is what JSON.stringify gets.
const okItem: fc.Arbitrary<DecideResultItem> = fc
  .record({ probs: fc.option(probs, { nil: undefined }), key_version: keyVersion, label, watermarked: fc.boolean() })
  .map(({ probs: p, key_version, label: l, watermarked }) => ({ ...(p ? { probs: p } : {}), key_version, label: l, watermarked, status: 'ok' as const }));
const refusedItem: fc.Arbitrary<DecideResultItem> = fc
  .record({ detail, probs: fc.option(probs, { nil: undefined }), label, status: fc.constantFrom('no_key' as const, 'no_acceptance' as const) })
  .map(({ detail: d, probs: p, label: l, status }) => ({ detail: d, ...(p ? { probs: p } : {}), label: l, watermarked: false as const, status }));
const results = fc.array(fc.oneof(okItem, refusedItem), { maxLength: 20 });

describe('decideResponseJson writes byte for byte what JSON.stringify({ results }) writes', () => {
  test(`property: arbitrary results of both shapes (seed ${SEED}, ${RUNS} runs)`, () => {
    fc.assert(
      fc.property(results, (rs) => {
        const out = decideResponseJson(rs);
        assert.equal(out, expected(rs));
        // And it is JSON that reads back to the same values.
        assert.deepEqual(JSON.parse(out), JSON.parse(expected(rs)));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('property: single details of arbitrary code units, one refused item each', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(codeUnit, tricky), minLength: 1, maxLength: 200 }), fc.constantFrom('no_key' as const, 'no_acceptance' as const), (d, status) => {
        const rs: DecideResultItem[] = [{ status, watermarked: false, label: 3, detail: d }];
        assert.equal(decideResponseJson(rs), expected(rs));
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  test('examples: empty results, both shapes with and without probs, escapes and lone surrogates', () => {
    const cases: DecideResultItem[][] = [
      [],
      [{ status: 'ok', watermarked: true, label: 7, key_version: 2 }],
      [{ status: 'ok', watermarked: false, label: 0, key_version: 1, probs: [0.5, -0, 1e-7, 1e21] }],
      [{ status: 'no_key', watermarked: false, label: 1, detail: 'subject has no watermark key (it has never accepted a EULA); serve the true answer' }],
      [{ status: 'no_acceptance', watermarked: false, label: 9, probs: [0.1, 0.9], detail: 'subject has no standing acceptance of "api-terms"' }],
      [{ status: 'no_acceptance', watermarked: false, label: 2, detail: 'quote " backslash \\ nul \u0000 esc \u001b line sep \u2028 lone \ud800 and \udc00, pair 🙂' }],
    ];
    for (const rs of cases) assert.equal(decideResponseJson(rs), expected(rs), JSON.stringify(rs));
  });
});
