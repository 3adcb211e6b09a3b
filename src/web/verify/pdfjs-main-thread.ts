// pdfjs runs its parser in the page itself (no worker file to fetch: the page is one file and
// works offline). pdfjs uses globalThis.pdfjsWorker when it is set instead of starting a worker.
import * as worker from 'pdfjs-dist/legacy/build/pdf.worker.mjs';

(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = worker;
