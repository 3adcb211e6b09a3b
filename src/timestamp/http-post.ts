// The real HTTP exchange with a time-stamping authority: bounded in time and in response size.
import type { TsaHttpResponse, TsaPost } from './rfc3161.js';
import { MAX_RESPONSE_BYTES } from './rfc3161.js';

export function httpPost(timeoutMs = 10_000): TsaPost {
  return async (url, body, headers): Promise<TsaHttpResponse> => {
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_RESPONSE_BYTES) throw new Error(`the TSA's answer (${declared} bytes) is larger than ${MAX_RESPONSE_BYTES}`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const c of res.body ?? []) {
      size += c.length;
      if (size > MAX_RESPONSE_BYTES) throw new Error(`the TSA's answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
      chunks.push(c);
    }
    return { status: res.status, contentType: res.headers.get('content-type'), body: Buffer.concat(chunks) };
  };
}
