// The consent widget's browser side: /widget.js (built by Vite from src/web/widget into
// dist/web/widget) and CORS for the widget's API paths, the only cross-origin ones. Those are
// authorised by the session token in the path, never by a cookie or an API key, so any origin may
// read their answers; the service itself refuses a session used from another origin than its own.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import { WIDGET_API_PREFIX } from './routes/acceptance-sessions.js';
import { sendProblem } from './problem.js';

/** dist/web/widget, beside this compiled module's dist/src/http. */
export const WIDGET_DIR = fileURLToPath(new URL('../../web/widget/', import.meta.url));
const WIDGET_FILE = `${WIDGET_DIR}widget.js`;

export function widgetRouter(): Router {
  const router = Router();
  router.use((req, res, next) => {
    if (!req.path.startsWith(WIDGET_API_PREFIX)) return next();
    res.set({
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, POST',
      'Access-Control-Allow-Headers': 'Content-Type',
      'Access-Control-Max-Age': '600',
    });
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  });
  router.get('/widget.js', (_req, res) => {
    if (!existsSync(WIDGET_FILE)) {
      sendProblem(res, 'not_found', 'widget.js has not been built: run `node scripts/preflight.mjs` (or `node scripts/build-web.mjs widget`).');
      return;
    }
    // Loaded by <script> from other sites: allowed cross-origin, revalidated so a new build reaches pages at once.
    res.set({ 'Cross-Origin-Resource-Policy': 'cross-origin', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    res.type('text/javascript');
    res.sendFile(WIDGET_FILE);
  });
  return router;
}
