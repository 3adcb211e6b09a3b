// Worker thread: renders a dossier model to PDF and signs it (CMS, ECDSA P-256).
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { signPdf, type SignerMaterial } from '../pdf/sign.js';
import type { DossierModel } from './model.js';
import { renderDossier } from './render.js';

const signer = (workerData as { signer: SignerMaterial }).signer;

parentPort!.on('message', (msg: { id: number; model: DossierModel }) => {
  void (async () => {
    try {
      const { pdf: unsigned, pages } = await renderDossier(msg.model);
      const unsignedSha256 = createHash('sha256').update(unsigned).digest('hex');
      const pdf = await signPdf(unsigned, signer);
      const out = new Uint8Array(pdf.buffer, pdf.byteOffset, pdf.byteLength);
      parentPort!.postMessage({ id: msg.id, ok: true, pdf: out, unsignedSha256, pages });
    } catch (e) {
      parentPort!.postMessage({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  })();
});
