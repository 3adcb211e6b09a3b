// A ledger entry's event with its personal facts opened from personal_openings (docs/personal-data.md):
// what tests compare recorded facts against.
import type { ServiceContext } from '../../src/app/context.js';
import { parseEvent, type AnyLedgerEvent } from '../../src/ledger/events.js';
import { openData } from '../../src/privacy/fields.js';

export async function openedEvent(ctx: ServiceContext, seq: number): Promise<AnyLedgerEvent> {
  const entry = await ctx.ledger.entry(seq);
  if (!entry) throw new Error(`no ledger entry ${seq}`);
  const e = parseEvent(entry.canonical);
  const openings = await ctx.repos.openings.forEvents([e.id]);
  return { ...e, data: openData(e.type, e.data, openings) } as AnyLedgerEvent;
}
