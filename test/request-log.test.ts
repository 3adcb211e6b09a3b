// Request logs name the route, never a capability carried in the path (the widget's acceptance-session token).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Router } from 'express';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../src/http/app.js';

test('debug request logs carry the route template or a redacted path, not the token in the path', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  const routes = Router();
  routes.get('/v1/widget/sessions/:token', (_req, res) => { res.json({ ok: true }); });
  const app = createApp({ logger: pino({ level: 'debug' }, sink), bodyLimit: '1kb', routers: [routes], ready: async () => true });
  const token = `ams_${'A'.repeat(43)}`;
  await request(app).get(`/v1/widget/sessions/${token}`).expect(200);
  await request(app).get(`/v1/widget/sessions/${token}/nothing-here`).expect(404);
  const logged = lines.join('');
  assert.equal(lines.length, 2, logged);
  assert.ok(!logged.includes(token), `a log line holds the token: ${logged}`);
  assert.match(lines[0]!, /"path":"\/v1\/widget\/sessions\/:token"/);
  assert.match(lines[1]!, /"path":"\/v1\/widget\/sessions\/:redacted\/nothing-here"/);
});
