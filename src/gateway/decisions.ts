// The gateway's hot path: per-item watermark decisions for a batch of answers.
import { swapProbabilities } from '../watermark/decide.js';
import { AppError } from '../problems/app-error.js';
import type { SubjectKeyCache } from './key-cache.js';

export interface DecideRequestItem {
  subject: string;
  input_sha256: string;
  label: number;
  num_classes: number;
  probs?: number[] | undefined;
}

export type DecideResultItem =
  | { status: 'ok'; watermarked: boolean; label: number; probs?: number[]; key_version: number }
  | { status: 'no_key' | 'no_acceptance'; watermarked: false; label: number; probs?: number[]; detail: string };

export class DecisionService {
  constructor(private readonly cache: SubjectKeyCache) {}

  async decide(items: readonly DecideRequestItem[], slug?: string): Promise<DecideResultItem[]> {
    items.forEach(checkItem);
    const states = await this.cache.states(items.map((i) => i.subject));
    return items.map((it) => {
      const st = states.get(it.subject)!;
      const standing = slug ? st.standing.has(slug) : st.standing.size > 0;
      if (!st.decider) {
        return { status: 'no_key', watermarked: false, label: it.label, ...(it.probs ? { probs: it.probs } : {}), detail: 'subject has no watermark key (it has never accepted a EULA); serve the true answer' };
      }
      if (!standing) {
        return { status: 'no_acceptance', watermarked: false, label: it.label, ...(it.probs ? { probs: it.probs } : {}), detail: slug ? `subject has no standing acceptance of "${slug}"` : 'subject has no standing acceptance' };
      }
      const d = st.decider.decideHex(it.input_sha256, it.label, it.num_classes);
      const out: DecideResultItem = { status: 'ok', watermarked: d.watermarked, label: d.label, key_version: st.keyVersion! };
      if (it.probs) out.probs = d.watermarked ? swapProbabilities(it.probs, it.label, d.label) : it.probs;
      return out;
    });
  }
}

function checkItem(it: DecideRequestItem, i: number): void {
  if (it.label >= it.num_classes) {
    throw new AppError('invalid_item', `items[${i}].label ${it.label} is out of range for num_classes ${it.num_classes} (labels are 0..${it.num_classes - 1})`, { errors: [{ field: `items.${i}.label`, message: 'must be less than num_classes' }] });
  }
  if (it.probs && it.probs.length !== it.num_classes) {
    throw new AppError('invalid_item', `items[${i}].probs has ${it.probs.length} entries but num_classes is ${it.num_classes}`, { errors: [{ field: `items.${i}.probs`, message: 'must have num_classes entries' }] });
  }
}
