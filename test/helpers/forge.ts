// Dossier PDFs that carry a given (forged) evidence bundle, rendered and PDF-signed like a real
// dossier, so a verifier reads them as any dossier: only the bundle is wrong. And the forgeries of
// a bundle's openings the tests try (the bundle then re-signed with the service's own key, so only
// the opening checks stand between the forgery and a VALID verdict).
import { evidenceSources } from '../../src/app/services.js';
import { canonicalBytes } from '../../src/canonical/jcs.js';
import { gatherDossier } from '../../src/dossier/gather.js';
import type { DossierModel } from '../../src/dossier/model.js';
import { RenderPool } from '../../src/dossier/render-pool.js';
import { loadPdfIdentity } from '../../src/keys/pdf-identity.js';
import type { TestApp } from './app.js';

type Json = Record<string, any>;

export class BundleForger {
  #pool: RenderPool | null = null;
  #carrier: DossierModel | null = null;
  constructor(private readonly app: () => TestApp, private readonly subject: () => string) {}

  /** A signed dossier PDF carrying `bundle` and `signature` as its evidence bundle. */
  async pdf(bundle: Buffer, signature: Buffer): Promise<Buffer> {
    const t = this.app();
    const identity = await loadPdfIdentity(t.config);
    this.#pool ??= new RenderPool(identity, 1);
    this.#carrier ??= (await gatherDossier(evidenceSources(t.ctx, t.built.services.eulas, t.built.services.pseudonyms), identity, {
      dossierId: '00000000-0000-4000-8000-00000000f0e9', subject: this.subject(), caseRef: 'CASE-FORGED', requestedBy: 'A Forger',
      preparedFor: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' }, issuedAt: new Date(Math.floor(Date.now() / 1000) * 1000),
      organisation: '', certifierName: '', certifierTitle: '',
    })).model;
    const model = structuredClone(this.#carrier);
    model.attachments = model.attachments.map((a) =>
      a.name === 'evidence-bundle.json' ? { ...a, dataBase64: bundle.toString('base64') } : a.name === 'evidence-bundle.json.sig' ? { ...a, dataBase64: signature.toString('base64') } : a);
    return (await this.#pool.render(model)).pdf;
  }

  async close(): Promise<void> {
    await this.#pool?.close();
  }
}

export type OpeningForgery = 'value' | 'salt' | 'field';

/**
 * A bundle whose opening of an acceptance's network facts (`client`) is forged: another IP address
 * in the value, one hex digit of the salt changed, or the opening moved to the entry's `auth` field
 * (in place of that field's own opening, with its commitment and group). Canonical bytes.
 */
export function forgeOpening(bytes: Buffer, how: OpeningForgery): Buffer {
  const b = JSON.parse(bytes.toString('utf8')) as Json;
  const openings = b.openings as Json[];
  const o = openings.find((x) => x.field === 'client');
  if (!o) throw new Error('the bundle has no opening of a client field');
  if (how === 'value') o.value = { ...o.value, ip: '198.51.100.99' };
  else if (how === 'salt') o.salt = (o.salt[0] === '0' ? '1' : '0') + String(o.salt).slice(1);
  else {
    const auth = openings.find((x) => x.seq === o.seq && x.field === 'auth');
    if (!auth) throw new Error('the entry has no auth opening');
    b.openings = openings.filter((x) => x !== auth);
    Object.assign(o, { field: 'auth', group: auth.group, commitment: auth.commitment });
  }
  return canonicalBytes(b);
}
