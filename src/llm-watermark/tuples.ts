// Distinct (window, token) tuples of a suspect's outputs, with the prompt-window rule
// (docs/llm-watermark-spec.md §8): an open-addressing set of fixed-width rows of token ids, so a
// million tuples cost a few flat arrays rather than a million strings. Pure; no I/O.

/** A set of rows of `width` 32-bit words. */
export class RowSet {
  #rows: Uint32Array;
  #slots: Int32Array; // row index + 1, 0 = empty
  #size = 0;

  constructor(readonly width: number, expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.#slots = new Int32Array(cap);
    this.#rows = new Uint32Array(Math.max(expected, 16) * width);
  }

  get size(): number {
    return this.#size;
  }

  /** The rows, `width` words each, in insertion order (a view; valid until the next add). */
  get rows(): Uint32Array {
    return this.#rows.subarray(0, this.#size * this.width);
  }

  #hash(src: ArrayLike<number>, at: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.width; i++) h = Math.imul(h ^ (src[at + i]! >>> 0), 0x01000193) ^ (h >>> 15);
    return Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  }

  #equals(row: number, src: ArrayLike<number>, at: number): boolean {
    const base = row * this.width;
    for (let i = 0; i < this.width; i++) if (this.#rows[base + i] !== src[at + i]! >>> 0) return false;
    return true;
  }

  /** Whether src[at .. at + width) is in the set. */
  has(src: ArrayLike<number>, at: number): boolean {
    const mask = this.#slots.length - 1;
    for (let s = this.#hash(src, at) & mask; ; s = (s + 1) & mask) {
      const r = this.#slots[s]!;
      if (r === 0) return false;
      if (this.#equals(r - 1, src, at)) return true;
    }
  }

  /** Adds src[at .. at + width); false if it was there already. */
  add(src: ArrayLike<number>, at: number): boolean {
    const before = this.#size;
    return this.addOrGet(src, at) === before;
  }

  /** The index (insertion order) of the row src[at .. at + width), added if new. */
  addOrGet(src: ArrayLike<number>, at: number): number {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    const mask = this.#slots.length - 1;
    let s = this.#hash(src, at) & mask;
    for (; ; s = (s + 1) & mask) {
      const r = this.#slots[s]!;
      if (r === 0) break;
      if (this.#equals(r - 1, src, at)) return r - 1;
    }
    if ((this.#size + 1) * this.width > this.#rows.length) {
      const bigger = new Uint32Array(this.#rows.length * 2);
      bigger.set(this.#rows);
      this.#rows = bigger;
    }
    const base = this.#size * this.width;
    for (let i = 0; i < this.width; i++) this.#rows[base + i] = src[at + i]! >>> 0;
    this.#slots[s] = ++this.#size;
    return this.#size - 1;
  }

  #grow(): void {
    const old = this.#size;
    this.#slots = new Int32Array(this.#slots.length * 2);
    const mask = this.#slots.length - 1;
    for (let r = 0; r < old; r++) {
      let s = this.#hash(this.#rows, r * this.width) & mask;
      while (this.#slots[s] !== 0) s = (s + 1) & mask;
      this.#slots[s] = r + 1;
    }
  }
}

export interface TupleCounts {
  /** Scored positions: output tokens with h tokens before them. */
  positions: number;
  /** Positions whose window occurs in a prompt (dropped). */
  promptWindowDropped: number;
  /** Repeats of a tuple already counted (dropped). */
  duplicatesDropped: number;
  /** The distinct tuples left, (h + 1) words each: window oldest first, then the token. */
  tuples: Uint32Array;
  n: number;
}

/**
 * The distinct tuples of outputs[i] after prompts[i] (both token ids), without those whose window
 * is h consecutive tokens of any prompt. `promptRule: false` only exists to show what it prevents.
 */
export function distinctTuples(h: number, prompts: readonly (readonly number[])[], outputs: readonly (readonly number[])[], opts: { promptRule?: boolean } = {}): TupleCounts {
  if (prompts.length !== outputs.length) throw new RangeError('one prompt per output');
  const promptWindows = new RowSet(h, 1024);
  if (opts.promptRule !== false) for (const p of prompts) for (let i = 0; i + h <= p.length; i++) promptWindows.add(p, i);
  let total = 0;
  for (const o of outputs) total += o.length;
  const set = new RowSet(h + 1, total);
  let positions = 0, promptWindowDropped = 0, duplicatesDropped = 0;
  const x: number[] = [];
  for (let k = 0; k < outputs.length; k++) {
    const p = prompts[k]!, o = outputs[k]!;
    x.length = 0;
    for (const t of p) x.push(t);
    for (const t of o) x.push(t);
    for (let i = Math.max(p.length, h); i < x.length; i++) {
      positions++;
      if (promptWindows.size > 0 && promptWindows.has(x, i - h)) {
        promptWindowDropped++;
        continue;
      }
      if (!set.add(x, i - h)) duplicatesDropped++;
    }
  }
  return { positions, promptWindowDropped, duplicatesDropped, tuples: set.rows.slice(), n: set.size };
}
