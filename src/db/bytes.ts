/** pg gives Buffers, PGlite gives Uint8Arrays: view either as a Buffer without copying. */
export function buf(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
