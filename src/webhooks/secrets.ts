// Webhook signing secrets at rest: wrapped by the master key (AES-256-GCM), bound to their
// subscription by the additional data, so a wrapped secret copied to another row does not open.
import { TAG, tagBytes } from '../crypto/domains.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';

function aad(subscriptionId: string): Buffer {
  return Buffer.concat([tagBytes(TAG.webhookSecretWrap), Buffer.from(subscriptionId, 'utf8')]);
}

export function wrapSecret(kek: KeyEncryptionKey, subscriptionId: string, secret: string): Buffer {
  return kek.wrap(Buffer.from(secret, 'utf8'), aad(subscriptionId));
}

export function unwrapSecret(kek: KeyEncryptionKey, subscriptionId: string, wrapped: Uint8Array): string {
  return kek.unwrap(wrapped, aad(subscriptionId)).toString('utf8');
}
