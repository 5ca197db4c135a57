// The deployment examples in docs/ agree with the server: the systemd unit starts what the CLI serves, with
// settings the config accepts, and the nginx example forwards exactly the headers the server believes, to the
// address the unit listens on. A proxied request then records the client's address, not the proxy's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { TEST_SECRET, startTestServer, type TestServer } from './helpers/app.ts';
import { call } from './helpers/http.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const DOCS = path.join(here, '..', '..', '..', 'docs');
const UNIT = path.join(DOCS, 'gatehouse.service');
const NGINX = path.join(DOCS, 'nginx.conf');

/** The unit's [Service] settings; Environment= lines gathered into one map. */
function readUnit(): { service: Map<string, string[]>; env: Record<string, string> } {
  const service = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(UNIT, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]') {
      const index = line.indexOf('=');
      const key = line.slice(0, index);
      service.set(key, [...(service.get(key) ?? []), line.slice(index + 1)]);
    }
  }
  const env = Object.fromEntries((service.get('Environment') ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return { service, env };
}

/** nginx's directives inside `location /` of the TLS server, as `name args`. */
function nginxProxyDirectives(): string[] {
  const text = readFileSync(NGINX, 'utf8').replace(/#.*$/gm, '');
  const tls = text.slice(text.indexOf('listen 443'));
  const location = /location \/ \{([^}]*)\}/.exec(tls);
  assert.ok(location, 'a location / block in the TLS server');
  return location[1]!.split(';').map((d) => d.trim().replace(/\s+/g, ' ')).filter(Boolean);
}

describe('docs/gatehouse.service', () => {
  it('starts `gatehouse serve` from the built package in production, with settings the config accepts', () => {
    const { service, env } = readUnit();
    const [execStart] = service.get('ExecStart') ?? [];
    assert.ok(execStart);
    const [node, bin, command, ...rest] = execStart.split(/\s+/);
    assert.match(node!, /\/node$/);
    assert.match(bin!, /\/packages\/gatehouse\/bin\/gatehouse\.js$/, 'the CLI (it runs dist/ under NODE_ENV=production)');
    assert.equal(command, 'serve');
    assert.deepEqual(rest, []);
    assert.equal(service.get('WorkingDirectory')?.[0], path.dirname(path.dirname(bin!)));
    assert.equal(env.NODE_ENV, 'production');
    assert.equal(service.get('KillSignal')?.[0], 'SIGTERM', 'the signal the server drains on');
    // Production refuses a weak secret and mail without a transport: the unit's own settings plus those an
    // operator puts in the EnvironmentFile must make a config that loads.
    const config = loadConfig({ ...env, GATEHOUSE_SECRET: TEST_SECRET, SMTP_URL: 'smtp://mail.example.com:587', METRICS: 'off' });
    assert.equal(config.trustProxy instanceof Array ? config.trustProxy.join() : config.trustProxy, 'loopback');
    assert.ok(config.publicUrl.startsWith('https://'));
    assert.equal(config.host, '127.0.0.1', 'only the proxy reaches it');
  });

  it('passes systemd-analyze verify, where systemd is installed', async (t) => {
    const verify = await promisify(execFile)('systemd-analyze', ['verify', UNIT]).catch((err: NodeJS.ErrnoException & { stderr?: string }) => err);
    if ('code' in verify && verify.code === 'ENOENT') return t.skip('systemd-analyze is not installed');
    // Users, paths and the binary of the target machine may be missing here; the unit's syntax may not fail.
    const output = 'stderr' in verify ? String(verify.stderr) : '';
    assert.doesNotMatch(output, /Unknown (key|section)|Failed to parse|Invalid|Missing/i, output);
  });
});

describe('docs/nginx.conf', () => {
  it('proxies to the address the unit listens on and forwards what the server believes, nothing else', () => {
    const { env } = readUnit();
    const directives = nginxProxyDirectives();
    assert.ok(directives.includes(`proxy_pass http://${env.HOST}:${env.PORT}`), directives.join('\n'));
    // Replaced with the client's address, never appended to: a client's own header must not reach the server.
    assert.ok(directives.includes('proxy_set_header X-Forwarded-For $remote_addr'));
    assert.ok(!directives.some((d) => d.includes('$proxy_add_x_forwarded_for')));
    assert.ok(directives.includes('proxy_set_header X-Forwarded-Proto $scheme'), 'the OpenID provider reads the scheme from it');
    assert.ok(directives.includes('proxy_set_header X-Forwarded-Host ""'), 'links come from PUBLIC_URL; no forwarded host');
    const text = readFileSync(NGINX, 'utf8');
    assert.match(text, /listen 443 ssl/);
    assert.match(text, new RegExp(`server_name ${new URL(env.PUBLIC_URL!).hostname.replace(/\./g, '\\.')};`));
    const bodyLimit = /client_max_body_size (\d+)k;/.exec(text);
    assert.ok(bodyLimit && Number(bodyLimit[1]) > 64, 'above the server\'s 64 KiB, so the server answers its own 413');
  });

  describe('a request as the proxy forwards it', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ env: { TRUST_PROXY: readUnit().env.TRUST_PROXY! } });
    });
    after(() => server.close());

    it("records the client's address from the proxy on loopback, and ignores the header from anyone else", async () => {
      const viaProxy = await call(server.app, 'POST', '/auth/register', {
        body: { email: `proxied.${process.pid}@example.com`, password: 'correct horse battery staple', name: 'Proxied' },
        headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
        ip: '127.0.0.1',
      });
      assert.equal(viaProxy.statusCode, 201, viaProxy.body);
      const sessions = (await call(server.app, 'GET', '/auth/sessions', { token: viaProxy.json().accessToken })).json().sessions;
      assert.equal(sessions[0].ip, '203.0.113.7');

      const direct = await call(server.app, 'POST', '/auth/register', {
        body: { email: `direct.${process.pid}@example.com`, password: 'correct horse battery staple', name: 'Direct' },
        headers: { 'x-forwarded-for': '198.51.100.1' },
        ip: '192.0.2.10',
      });
      assert.equal(direct.statusCode, 201, direct.body);
      const [own] = await server.runtime.ctx.sessions.listLive(direct.json().user.id, Date.now());
      assert.equal(own?.ip, '192.0.2.10', 'the socket address when the header does not come from the proxy');
    });
  });
});
