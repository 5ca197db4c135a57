// CORS only for the listed origins; HSTS only over https.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call } from '../helpers/http.ts';
import { startTestServer } from '../helpers/app.ts';

describe('CORS and HSTS', () => {
  it('answers preflights only for CORS_ORIGINS, with credentials', async () => {
    const server = await startTestServer({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const preflight = (origin: string) =>
        call(server.app, 'OPTIONS', '/auth/me', { headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
      const allowed = await preflight('https://app.example.com');
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
      const refused = await preflight('https://evil.example.com');
      assert.equal(refused.headers['access-control-allow-origin'], undefined);
      const simple = await call(server.app, 'GET', '/health', { headers: { origin: 'https://evil.example.com' } });
      assert.equal(simple.headers['access-control-allow-origin'], undefined);
    } finally {
      await server.close();
    }
  });

  it('sends no CORS headers when CORS_ORIGINS is unset, and HSTS when PUBLIC_URL is https', async () => {
    const server = await startTestServer({ env: { PUBLIC_URL: 'https://auth.example.com' } });
    try {
      const res = await call(server.app, 'GET', '/health', { headers: { origin: 'https://app.example.com' } });
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      assert.match(String(res.headers['strict-transport-security']), /max-age=31536000/);
    } finally {
      await server.close();
    }
  });
});
