import { z } from 'zod';
import type { AssentResult, AssentService } from '../../assent/service.js';
import { AssentBody, RotateBody, WithdrawalBody } from '../../assent/schemas.js';
import { ROLES, type ApiKeyStore } from '../../auth/api-keys.js';
import { PublishBody } from '../../eula/schemas.js';
import type { EulaService } from '../../eula/service.js';
import { AppError } from '../../problems/app-error.js';
import { Slug, Subject, Text, Uuid, VersionString } from '../../validation/fields.js';
import type { WatermarkKeyService } from '../../watermark-keys/service.js';
import {
  ApiKeyListJson, apiKeyJson, AssentJson, assentJson, CurrentEulaJson, EulaHistoryJson, EulaJson, eulaJson, KeyListJson, keyListJson,
  NewApiKeyJson, ReceiptJson, RecordListJson, recordListJson, RotatedJson, rotatedJson, StatusJson, statusJson,
} from '../presenters/assent.js';
import type { IdempotencyService } from '../../idempotency/service.js';
import { idempotentAnswer } from '../idempotent.js';
import { defineRoute, type AnyRoute, type RouteResult } from '../route.js';

const ALL = ROLES;
const SubjectParams = z.strictObject({ subject: Subject });
const IdParams = z.strictObject({ id: Uuid });

function assentResult(r: AssentResult): RouteResult {
  return { status: 201, body: assentJson(r.recorded), headers: { ...(r.replayed ? { 'Idempotent-Replayed': 'true' } : {}), Location: `/v1/acceptances/${r.recorded.id}` } };
}

export interface AssentRouteDeps {
  assent: AssentService;
  eulas: EulaService;
  watermarkKeys: WatermarkKeyService;
  apiKeys: ApiKeyStore;
  idempotency: IdempotencyService;
}

export function assentRoutes({ assent, eulas, watermarkKeys, apiKeys, idempotency }: AssentRouteDeps): AnyRoute[] {
  const created = { 201: { description: 'Recorded; the body carries the signed receipt (`inclusion: null`: it is sent when the entry commits, before a checkpoint covers it; a replay carries the proof once one does)', schema: AssentJson }, 422: { description: 'Unknown EULA version, text hash mismatch, or Idempotency-Key reused with another body' } };
  return [
    defineRoute({
      method: 'post', path: '/v1/eulas', tag: 'EULAs', access: ['admin'], body: PublishBody,
      summary: 'Publish a EULA version',
      description: 'Stores the text verbatim with its SHA-256 and appends an `eula.published` event. Publishing the same slug and version again with identical content is idempotent (200); with different content it is a 409.',
      responses: { 201: { description: 'Published', schema: EulaJson }, 200: { description: 'Already published with identical content', schema: EulaJson }, 409: { description: 'Same slug and version already published with different content' } },
      handler: async ({ body, principal }) => {
        const { eula, created: isNew } = await eulas.publish(body, principal!.name);
        return { status: isNew ? 201 : 200, body: eulaJson(eula), headers: { Location: `/v1/eulas/${eula.slug}/versions/${eula.version}` } };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/eulas/:slug/current', tag: 'EULAs', access: ALL, params: z.strictObject({ slug: Slug }),
      summary: 'The version of a EULA in effect now',
      responses: { 200: { description: 'The current version, with the latest major version subjects must have accepted', schema: CurrentEulaJson }, 404: { description: 'No such EULA or none in effect' } },
      handler: async ({ params }) => {
        const { current, requiredMajor } = await eulas.current(params.slug);
        return { body: { ...eulaJson(current), required_major_version: requiredMajor.version } };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/eulas/:slug/versions', tag: 'EULAs', access: ALL, params: z.strictObject({ slug: Slug }),
      summary: 'Version history of a EULA (without texts)',
      responses: { 200: { description: 'Versions in order of effect', schema: EulaHistoryJson }, 404: { description: 'No such EULA' } },
      handler: async ({ params }) => ({ body: { slug: params.slug, versions: (await eulas.historyOrFail(params.slug)).map((v) => eulaJson(v, false)) } }),
    }),
    defineRoute({
      method: 'get', path: '/v1/eulas/:slug/versions/:version', tag: 'EULAs', access: ALL, params: z.strictObject({ slug: Slug, version: VersionString }),
      summary: 'One EULA version with its exact text',
      responses: { 200: { description: 'The version', schema: EulaJson }, 404: { description: 'Not published' } },
      handler: async ({ params }) => ({ body: eulaJson(await eulas.get(params.slug, params.version)) }),
    }),
    defineRoute({
      method: 'post', path: '/v1/acceptances', tag: 'Assent', access: ['signup'], body: AssentBody, idempotent: true,
      summary: 'Record that a subject accepted a EULA version',
      description: 'The signup flow\'s call. Requires an Idempotency-Key header. The first acceptance of a subject assigns its watermark key (committed in a `watermark_key.assigned` event). The response carries a signed receipt.',
      responses: created,
      handler: async ({ body, principal, idempotencyKey }) => assentResult(await assent.accept(body, principal!, idempotencyKey!)),
    }),
    defineRoute({
      method: 'post', path: '/v1/declines', tag: 'Assent', access: ['signup'], body: AssentBody, idempotent: true,
      summary: 'Record that a subject declined a EULA version',
      responses: created,
      handler: async ({ body, principal, idempotencyKey }) => assentResult(await assent.decline(body, principal!, idempotencyKey!)),
    }),
    defineRoute({
      method: 'post', path: '/v1/withdrawals', tag: 'Assent', access: ['signup'], body: WithdrawalBody, idempotent: true,
      summary: 'Record that a subject withdrew its assent to a EULA',
      description: 'Withdraws the subject\'s standing acceptance of the EULA (docs/assent.md): its latest acceptance not already withdrawn.',
      responses: { ...created, 409: { description: 'The subject has no standing acceptance of this slug, or another record of this slug was made for the subject meanwhile (`subject_state_changed`)' } },
      handler: async ({ body, principal, idempotencyKey }) => assentResult(await assent.withdraw(body, principal!, idempotencyKey!)),
    }),
    defineRoute({
      method: 'get', path: '/v1/acceptances/:id', tag: 'Assent', access: ['signup', 'investigator', 'admin'], params: IdParams,
      summary: 'An acceptance, decline or withdrawal as recorded',
      description: 'A signup key reads only the records it recorded itself: another key\'s record answers 404 `record_not_found`, as an unknown id does (docs/personal-data.md, "Least privilege").',
      responses: { 200: { description: 'The record with its ledger position and receipt (with its inclusion proof once a signed checkpoint covers the entry)', schema: AssentJson }, 404: { description: 'Unknown id, or (signup keys) recorded by another key' } },
      handler: async ({ params, principal }) => ({ body: assentJson(await assent.record(params.id, principal!)) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/acceptances/:id/receipt', tag: 'Assent', access: ['signup', 'investigator', 'admin'], params: IdParams,
      summary: 'The signed receipt of a record, with its inclusion proof once a signed checkpoint covers it',
      description: 'The signed part (`payload`, `signed_bytes`, `signature`) is identical every time. `inclusion` is unsigned and self-verifying: the RFC 9162 inclusion proof of the entry in the latest signed checkpoint, with that checkpoint\'s signed note. Until a checkpoint covers the entry it is null, and `promise` says when one will (ASSENTMARK_CHECKPOINT_INTERVAL_MS). docs/receipts.md. A signup key reads only the receipts of records it recorded itself (another key\'s: 404, as an unknown id).',
      responses: { 200: { description: 'The receipt; verify with `assentmark receipt verify`', schema: ReceiptJson }, 404: { description: 'Unknown id, or (signup keys) recorded by another key' } },
      handler: async ({ params, principal }) => ({ body: await assent.receipt(params.id, principal!) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/subjects/:subject/status', tag: 'Assent', access: ['signup', 'investigator', 'admin'], params: SubjectParams, query: z.strictObject({ slug: Slug }),
      summary: 'Compliance gate: has the subject accepted the current major version of a EULA?',
      responses: { 200: { description: 'Status', schema: StatusJson }, 404: { description: 'No such EULA, or none in effect' } },
      handler: async ({ params, query }) => ({ body: statusJson(await assent.status(params.subject, query.slug)) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/subjects/:subject/records', tag: 'Assent', access: ['investigator', 'admin'], params: SubjectParams,
      summary: 'Every acceptance, decline and withdrawal of a subject',
      responses: { 200: { description: 'Records in ledger order', schema: RecordListJson } },
      handler: async ({ params }) => ({ body: recordListJson(params.subject, await assent.listForSubject(params.subject)) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/subjects/:subject/watermark-keys', tag: 'Watermark keys', access: ['investigator', 'admin'], params: SubjectParams,
      summary: 'A subject\'s watermark key versions and commitments (never the keys)',
      responses: { 200: { description: 'Key versions', schema: KeyListJson } },
      handler: async ({ params }) => ({ body: keyListJson(params.subject, await watermarkKeys.all(params.subject)) }),
    }),
    defineRoute({
      method: 'post', path: '/v1/subjects/:subject/watermark-keys/rotate', tag: 'Watermark keys', access: ['admin'], params: SubjectParams, body: RotateBody,
      summary: 'Rotate a subject\'s watermark key',
      description: 'Adds a new key version and appends a `watermark_key.rotated` event. Earlier versions remain for verifying past traffic. It replaces the key current when the request is handled (with `from_version`, only that version): of overlapping rotations of one key, one rotates and the others get 409 `subject_state_changed` (docs/assent.md).',
      responses: { 201: { description: 'Rotated', schema: RotatedJson }, 409: { description: 'The subject has no key yet, or its current key is not the one this rotation replaces (another rotation came first, or `from_version` is not current)' } },
      handler: async ({ params, body, principal }) => ({ status: 201, body: rotatedJson(await watermarkKeys.rotate(params.subject, body.reason, principal!, body.from_version)) }),
    }),
    defineRoute({
      method: 'post', path: '/v1/api-keys', tag: 'API keys', access: ['admin'], body: z.strictObject({ role: z.enum(ROLES as [string, ...string[]]), name: Text(100).min(1) }), idempotent: 'optional',
      summary: 'Create an API key (the token is shown once, in this response)',
      description: 'With an Idempotency-Key header, a retry with the same key and body (also many at once) creates no second key and answers with the first answer, token included (`Idempotent-Replayed: true`); that answer is kept sealed by the master key for the purpose. Without the header nothing but the token\'s hash is kept.',
      responses: { 201: { description: 'Created, or the key this Idempotency-Key created', schema: NewApiKeyJson } },
      handler: async ({ body, principal, idempotencyKey }) => idempotentAnswer(idempotency, {
        kind: 'api_key.create', principal: principal!, idempotencyKey, request: body, sealed: true,
        write: (keyRow) => apiKeys.create(body.role as (typeof ROLES)[number], body.name, keyRow),
        id: (r: { info: { id: string } }) => r.info.id, body: (r: { token: string; info: Parameters<typeof apiKeyJson>[0] }) => ({ ...apiKeyJson(r.info), token: r.token }),
      }),
    }),
    defineRoute({
      method: 'get', path: '/v1/api-keys', tag: 'API keys', access: ['admin'],
      summary: 'List API keys (never their tokens)',
      responses: { 200: { description: 'Keys', schema: ApiKeyListJson } },
      handler: async () => ({ body: { keys: (await apiKeys.list()).map(apiKeyJson) } }),
    }),
    defineRoute({
      method: 'delete', path: '/v1/api-keys/:id', tag: 'API keys', access: ['admin'], params: IdParams,
      summary: 'Revoke an API key',
      responses: { 204: { description: 'Revoked' }, 404: { description: 'No such active key' } },
      handler: async ({ params }) => {
        if (!(await apiKeys.revoke(params.id))) throw new AppError('api_key_not_found', `no active API key with id ${params.id}`);
        return { status: 204 };
      },
    }),
  ];
}
