import { z } from 'zod';
import type { Ledger } from '../../ledger/ledger.js';
import { exportLines } from '../../ledger/export.js';
import type { ServiceMetrics } from '../../metrics/metrics.js';
import type { LedgerVerifications } from '../../operations/ledger-verifications.js';
import { Uuid } from '../../validation/fields.js';
import { LedgerStatusJson, ledgerStatusJson, LedgerVerificationJson, ledgerVerificationJson } from '../presenters/admin.js';
import { defineRoute, type AnyRoute } from '../route.js';

export interface AdminDeps {
  ledger: Ledger;
  verifications: LedgerVerifications;
  metrics: ServiceMetrics;
  /** Checks the metrics scrape token (ASSENTMARK_METRICS_TOKEN_FILE), when one is configured. */
  metricsToken: ((token: string) => boolean) | null;
}

const jobUrl = (id: string) => `/v1/admin/ledger/verifications/${id}`;

/** Operating a running service: metrics, and the ledger checks and export the CLI cannot run beside it. */
export function adminRoutes(d: AdminDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'get', path: '/metrics', tag: 'Operations', access: ['admin'],
      ...(d.metricsToken ? { alsoAccepts: d.metricsToken } : {}),
      summary: 'Prometheus metrics (text exposition format)',
      description: 'For a Prometheus scraper: bearer the token of ASSENTMARK_METRICS_TOKEN_FILE (it grants nothing else), or an admin API key. No label holds a subject, a key or a URL: routes are their templates. See docs/operations.md.',
      responses: { 200: { description: 'The metrics', contentType: 'text/plain; version=0.0.4; charset=utf-8' } },
      handler: async () => {
        const m = await d.metrics.scrape();
        return { headers: { 'Cache-Control': 'no-store' }, raw: { contentType: m.contentType, data: Buffer.from(m.text, 'utf8') } };
      },
    }),
    defineRoute({
      method: 'post', path: '/v1/admin/ledger/verifications', tag: 'Operations', access: ['admin'],
      summary: 'Start a full ledger verification in the background',
      description: 'Checks every entry and signed checkpoint, as `assentmark ledger verify` does, while the service runs. One runs at a time: while one runs (an admin\'s or the timer\'s), this answers 409 naming it.',
      responses: { 202: { description: 'Started; follow the Location', schema: LedgerVerificationJson }, 409: { description: 'A verification is already running (`job_id`, `location`)' } },
      handler: async () => {
        const job = d.verifications.start('admin');
        return { status: 202, headers: { Location: jobUrl(job.id) }, body: ledgerVerificationJson(job) };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/admin/ledger/verifications/:id', tag: 'Operations', access: ['admin'], params: z.strictObject({ id: Uuid }),
      summary: 'Progress and outcome of a ledger verification',
      responses: { 200: { description: 'The job: running, or finished with the verifier\'s report (ok, or the first bad entry)', schema: LedgerVerificationJson }, 404: { description: 'No such job in this process' } },
      handler: async ({ params }) => ({ headers: { 'Cache-Control': 'no-store' }, body: ledgerVerificationJson(d.verifications.get(params.id)) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/admin/ledger/status', tag: 'Operations', access: ['admin'],
      summary: 'Ledger size, latest checkpoint and the last full verification',
      responses: { 200: { description: 'The status', schema: LedgerStatusJson } },
      handler: async () => {
        const [head, checkpoint] = await Promise.all([d.ledger.head(), d.ledger.latestCheckpoint()]);
        return { headers: { 'Cache-Control': 'no-store' }, body: ledgerStatusJson({ origin: d.ledger.origin, size: head.size, checkpoint, last: d.verifications.lastFinished(), running: d.verifications.running(), now: new Date() }) };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/admin/ledger/export', tag: 'Operations', access: ['admin'],
      summary: 'Export the ledger (format v2, JSON lines), streamed',
      description: 'The file `assentmark ledger export` writes: verify it offline with `assentmark ledger verify --file <file> --public-key <keys.json>`. Streamed as read, at the pace the client reads.',
      responses: { 200: { description: 'The export', contentType: 'application/x-ndjson' } },
      handler: async () => ({ headers: { 'Cache-Control': 'no-store' }, stream: { contentType: 'application/x-ndjson', body: exportLines(d.ledger, d.ledger.origin), filename: 'ledger-export.jsonl' } }),
    }),
  ];
}
