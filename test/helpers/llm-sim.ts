// A synthetic language-model world for the text watermark: a sparse trigram teacher that samples
// with a subject's red/green bias, and trigram students trained by counting the teacher's text. No
// outside model; seeded, so every run is the same.
import { GreenList } from '../../src/llm-watermark/scheme.js';

/** Seeded 32-bit generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface World {
  vocab: number;
  /** candidates[ctx * width + j]: the teacher's possible next tokens after context ctx = a * vocab + b. */
  candidates: Uint32Array;
  logits: Float64Array;
  width: number;
}

/** A teacher: after each pair of tokens, `width` candidate next tokens with random logits. */
export function teacherWorld(vocab: number, width: number, seed: number): World {
  const r = rng(seed);
  const n = vocab * vocab;
  const candidates = new Uint32Array(n * width);
  const logits = new Float64Array(n * width);
  for (let i = 0; i < n * width; i++) {
    candidates[i] = Math.floor(r() * vocab);
    logits[i] = 1.5 * Math.log(-Math.log(r() + 1e-12) + 1e-12) * -1; // spread of a few nats
  }
  return { vocab, candidates, logits, width };
}

function pick(weights: Float64Array, r: () => number): number {
  let sum = 0;
  for (const w of weights) sum += w;
  let x = r() * sum;
  for (let j = 0; j < weights.length; j++) if ((x -= weights[j]!) < 0) return j;
  return weights.length - 1;
}

/** Teacher text after each prompt: `len` tokens, with green candidates boosted by delta when a key is given. */
export function teacherSample(w: World, prompts: number[][], len: number, seed: number, mark?: { green: GreenList | readonly GreenList[]; delta: number }): number[][] {
  const layers = mark ? (Array.isArray(mark.green) ? mark.green : [mark.green]) as readonly GreenList[] : [];
  const r = rng(seed);
  const weights = new Float64Array(w.width);
  return prompts.map((p) => {
    const x = [...p];
    for (let i = 0; i < len; i++) {
      const ctx = x[x.length - 2]! * w.vocab + x[x.length - 1]!;
      for (let j = 0; j < w.width; j++) {
        const t = w.candidates[ctx * w.width + j]!;
        // Each layer adds delta to its green candidates (docs/llm-watermark-spec.md §6.1).
        let boost = 0;
        for (const g of layers) if (g.isGreenAt(x, x.length - 2, t)) boost += mark!.delta;
        weights[j] = Math.exp(w.logits[ctx * w.width + j]! + boost);
      }
      x.push(w.candidates[ctx * w.width + pick(weights, r)]!);
    }
    return x.slice(p.length);
  });
}

/** A trigram student: counts of (context, next token) in its training text. */
export class Student {
  readonly #counts = new Map<number, Map<number, number>>();
  constructor(readonly vocab: number) {}

  train(texts: readonly (readonly number[])[]): this {
    for (const x of texts) {
      for (let i = 2; i < x.length; i++) {
        const ctx = x[i - 2]! * this.vocab + x[i - 1]!;
        let m = this.#counts.get(ctx);
        if (!m) this.#counts.set(ctx, (m = new Map()));
        m.set(x[i]!, (m.get(x[i]!) ?? 0) + 1);
      }
    }
    return this;
  }

  /** The student's text after each prompt (unseen contexts: a uniform token). */
  generate(prompts: number[][], len: number, seed: number): number[][] {
    const r = rng(seed);
    return prompts.map((p) => {
      const x = [...p];
      for (let i = 0; i < len; i++) {
        const m = this.#counts.get(x[x.length - 2]! * this.vocab + x[x.length - 1]!);
        if (!m) {
          x.push(Math.floor(r() * this.vocab));
          continue;
        }
        let total = 0;
        for (const c of m.values()) total += c;
        let u = r() * total;
        let next = -1;
        for (const [t, c] of m) if ((u -= c) < 0) { next = t; break; }
        x.push(next < 0 ? [...m.keys()].pop()! : next);
      }
      return x.slice(p.length);
    });
  }
}

/** `count` random prompts of `len` tokens. */
export function randomPrompts(vocab: number, count: number, len: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: count }, () => Array.from({ length: len }, () => Math.floor(r() * vocab)));
}
