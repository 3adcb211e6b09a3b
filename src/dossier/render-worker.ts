// Piscina task module: renders a dossier model to PDF and signs it (CMS, ECDSA P-256) in a worker
// thread. The signer material comes from the pool's workerData.
import { createHash } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import { Piscina, transferableSymbol, valueSymbol } from 'piscina';
import { signPdf, type SignerMaterial } from '../pdf/sign.js';
import type { DossierModel } from './model.js';
import { renderDossier } from './render.js';
import { buildSamplesCsv, type SamplesCsvTask } from './samples-csv.js';
import { lowerThreadPriority } from '../util/thread-priority.js';

/**
 * Rendering is batch work beside latency-bound requests: on a machine with fewer free cores than
 * busy threads, the scheduler should run the request thread first (nice +10; Linux).
 */
export const RENDER_NICE_INCREMENT = 10;
lowerThreadPriority(RENDER_NICE_INCREMENT);

export interface RenderWorkerData {
  signer: SignerMaterial;
}

export interface RenderWorkerResult {
  /** The signed PDF; its ArrayBuffer is transferred to the calling thread. */
  pdf: Uint8Array;
  unsignedSha256: string;
  pages: number;
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The bytes as a view of an ArrayBuffer of their own, so transferring it detaches nothing else. */
function ownBytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  if (b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return new Uint8Array(b.buffer);
  return new Uint8Array(b);
}

export default async function renderAndSign(model: DossierModel): Promise<unknown> {
  const signer = (workerData as RenderWorkerData | null)?.signer;
  if (!signer) throw new Error('the render worker was started without signer material');
  let unsigned: Buffer;
  let pages: number;
  try {
    ({ pdf: unsigned, pages } = await renderDossier(model));
  } catch (e) {
    throw new Error(`laying out the PDF: ${reason(e)}`);
  }
  const unsignedSha256 = createHash('sha256').update(unsigned).digest('hex');
  let signed: Buffer;
  try {
    signed = await signPdf(unsigned, signer);
  } catch (e) {
    throw new Error(`signing the PDF: ${reason(e)}`);
  }
  const pdf = ownBytes(signed);
  const result: RenderWorkerResult = { pdf, unsignedSha256, pages };
  // Sends `result` with the PDF's ArrayBuffer in the transfer list (moved, not copied).
  return Piscina.move({
    get [transferableSymbol]() {
      return pdf.buffer;
    },
    get [valueSymbol]() {
      return result;
    },
  });
}

/** Named task `samplesCsv`: a dossier's sample-list CSV written and read back off the request thread. */
export function samplesCsv(task: SamplesCsvTask): unknown {
  const r = buildSamplesCsv(task);
  const bytes = ownBytes(r.bytes);
  return Piscina.move({
    get [transferableSymbol]() {
      return bytes.buffer;
    },
    get [valueSymbol]() {
      return { ...r, bytes };
    },
  });
}
