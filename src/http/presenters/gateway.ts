// The decide response: its schema, and its serialiser for the hot path.
import { z } from 'zod';
import type { DecideResultItem } from '../../gateway/decisions.js';

export const DecideJson = z.object({
  results: z.array(z.object({
    status: z.enum(['ok', 'no_key', 'no_acceptance']),
    watermarked: z.boolean(),
    label: z.number().int().describe('The label to serve'),
    key_version: z.number().int().optional(),
    probs: z.array(z.number()).optional(),
    detail: z.string().optional(),
  })),
});

/**
 * `{"results": [...]}` for decide()'s output, byte for byte what JSON.stringify would write
 * (same key order), from templates: the response of a 1,000-item batch is on the hot path.
 */
export function decideResponseJson(results: readonly DecideResultItem[]): string {
  let out = '{"results":[';
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (i > 0) out += ',';
    if (r.status === 'ok') {
      out += (r.watermarked ? '{"status":"ok","watermarked":true,"label":' : '{"status":"ok","watermarked":false,"label":') + r.label + ',"key_version":' + r.key_version;
      if (r.probs) out += ',"probs":' + JSON.stringify(r.probs);
    } else {
      out += '{"status":"' + r.status + '","watermarked":false,"label":' + r.label;
      if (r.probs) out += ',"probs":' + JSON.stringify(r.probs);
      out += ',"detail":' + JSON.stringify(r.detail);
    }
    out += '}';
  }
  return out + ']}';
}
