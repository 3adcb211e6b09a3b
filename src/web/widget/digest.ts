// SHA-256 in the browser (WebCrypto), as lowercase hex: the same digest the service records.

export async function sha256Hex(text: string): Promise<string> {
  if (!globalThis.crypto?.subtle) throw new Error('This browser cannot check the text (WebCrypto needs a secure https page).');
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}
