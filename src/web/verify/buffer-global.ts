// The shared verifier modules use Node's Buffer; in the browser it is the `buffer` package's.
// Imported first by main.ts, so it is in place before any verifier module is evaluated.
import { Buffer } from 'buffer';

(globalThis as { Buffer?: unknown }).Buffer ??= Buffer;
