// The page compiles the shared verifier modules (src/dossier, src/pdf, src/ledger, ...), which are
// typed against Node's Buffer; at run time Buffer is the `buffer` package (buffer-global.ts).
/// <reference types="node" />

declare module '*.css';

declare module 'pdfjs-dist/legacy/build/pdf.worker.mjs' {
  export const WorkerMessageHandler: unknown;
}
