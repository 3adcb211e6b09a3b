// GET /openapi.json and a browsable reference at /docs (Swagger UI, served from the package).
import express, { Router } from 'express';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>assentmark API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="api"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#api', deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0 });
</script>
</body>
</html>`;

export function docsRouter(openapi: () => Record<string, unknown>): Router {
  const r = Router();
  const doc = openapi();
  const assets = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  r.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  r.get(['/docs', '/docs/'], (_req, res) => {
    res.type('html').send(PAGE);
  });
  r.use('/docs/assets', express.static(assets, { index: false, maxAge: '1h' }));
  return r;
}
