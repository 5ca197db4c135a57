// The packages as someone outside this repository gets them: `npm pack` of @gatehouse/verify and
// @gatehouse/client (the commands the READMEs give), both tarballs installed together into a fresh app in a
// temporary directory (their own dependencies, and express and fastify for the guards, from the npm cache or
// registry), then a plain `node` script there imports every subpath both packages export, verifies a token
// signed with a key made here against a JWKS served on 127.0.0.1, guards an Express and a Fastify route with
// it, and signs in with the client. Nothing resolves back into the repository: the app's node_modules holds
// only what the tarballs and the registry gave it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The environment without what `npm test` put there (npm_config_workspace…, INIT_CWD), so each npm below sees only its own flags. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'INIT_CWD' && key !== 'NODE_OPTIONS') env[key] = value;
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${err.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let dir: string;
let server: Server;
let origin: string;
let token: string;
const kid = `pack-${randomUUID()}`;
const email = 'packed@example.com';

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-pack-'));

  // An issuer of our own: a key pair made here, its JWKS and a login route on loopback.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }] };
  server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    if (req.method === 'POST' && req.url === '/auth/login') {
      const body = { user: { id: 'user-1', email, name: 'Packed', role: 'user', emailVerified: true }, accessToken: token, refreshToken: 'ghr_packed', tokenType: 'Bearer', expiresIn: 900 };
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
    if (req.url === '/auth/me') {
      if (req.headers.authorization !== `Bearer ${token}`) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"authentication_required","message":"no token"}}');
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ user: { id: 'user-1', email } }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const iat = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', kid, typ: 'at+jwt' })}.${b64({ iss: origin, aud: origin, sub: 'user-1', sid: 'session-1', jti: randomUUID(), role: 'user', iat, exp: iat + 900 })}`;
  token = `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
});

after(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const CHECK = String.raw`
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import Fastify from 'fastify';
import { createVerifier, VerifyError } from '@gatehouse/verify';
import { expressAuth } from '@gatehouse/verify/express';
import { gatehouseAuth } from '@gatehouse/verify/fastify';
import { createClient } from '@gatehouse/client';

const { ORIGIN, TOKEN } = process.env;
const here = fileURLToPath(new URL('.', import.meta.url));

// Every subpath each package exports resolves inside this app's node_modules, loads, and has its types.
const loaded = [];
for (const name of ['@gatehouse/verify', '@gatehouse/client']) {
  const pkgFile = fileURLToPath(import.meta.resolve(name + '/package.json'));
  assert.ok(pkgFile.startsWith(here + 'node_modules/'), name + ' resolves to ' + pkgFile + ', not to the installed tarball');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (subpath === './package.json') continue;
    const specifier = subpath === '.' ? name : name + subpath.slice(1);
    const mod = await import(specifier);
    assert.ok(Object.keys(mod).length > 0, specifier + ' exports nothing');
    if (typeof target === 'object' && target.types) assert.ok(existsSync(new URL(target.types, new URL('file://' + pkgFile))), specifier + ': ' + target.types + ' is missing');
    loaded.push(specifier);
  }
}

const verifier = createVerifier({ issuer: ORIGIN, audience: ORIGIN, jwksUrl: ORIGIN + '/.well-known/jwks.json' });
const claims = await verifier.verifyAccessToken(TOKEN);
assert.equal(claims.sub, 'user-1');
assert.equal(claims.role, 'user');
const [h, p, s] = TOKEN.split('.');
const tampered = [h, Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url')), role: 'admin' })).toString('base64url'), s].join('.');
await assert.rejects(verifier.verifyAccessToken(tampered), (err) => err instanceof VerifyError && err.code === 'invalid_token');

// Express and Fastify routes guarded by the packed guards.
const api = express();
const { requireAuth, requireRole } = expressAuth(verifier);
api.get('/profile', requireAuth, (req, res) => res.json({ sub: req.auth.sub }));
api.get('/admin', requireAuth, requireRole('admin'), (req, res) => res.json({}));
const listening = api.listen(0, '127.0.0.1');
await new Promise((resolve) => listening.once('listening', resolve));
const apiUrl = 'http://127.0.0.1:' + listening.address().port;
const expressAnswers = [
  (await fetch(apiUrl + '/profile', { headers: { authorization: 'Bearer ' + TOKEN } })).status,
  (await fetch(apiUrl + '/profile')).status,
  (await fetch(apiUrl + '/admin', { headers: { authorization: 'Bearer ' + TOKEN } })).status,
];
listening.close();
assert.deepEqual(expressAnswers, [200, 401, 403]);

const app = Fastify();
await app.register(gatehouseAuth, { verifier });
app.get('/profile', { preHandler: app.requireAuth }, async (request) => ({ sub: request.auth.sub }));
const fastifyAnswers = [
  (await app.inject({ url: '/profile', headers: { authorization: 'Bearer ' + TOKEN } })).statusCode,
  (await app.inject({ url: '/profile', headers: { authorization: 'Bearer ' + tampered } })).statusCode,
];
await app.close();
assert.deepEqual(fastifyAnswers, [200, 401]);
await verifier.close();

// The client signs in against the loopback issuer and carries the token.
const client = createClient({ baseUrl: ORIGIN });
assert.equal(client.isAuthenticated, false);
const user = await client.login({ email: 'packed@example.com', password: 'correct horse battery staple' });
assert.equal(user.email, 'packed@example.com');
assert.equal(client.isAuthenticated, true);
assert.equal((await client.fetch(ORIGIN + '/auth/me')).status, 200);

console.log(JSON.stringify({ loaded, claims: claims.sub, expressAnswers, fastifyAnswers }));
`;

it('packs @gatehouse/verify and @gatehouse/client, installs both tarballs in a fresh app, and they work there', { timeout: 300_000 }, async (t) => {
  // The README's command, for both packages at once (each is built by its `prepare` script on the way).
  await run(NPM, ['pack', '-w', '@gatehouse/verify', '-w', '@gatehouse/client', '--pack-destination', dir], ROOT);
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz')).sort();
  assert.deepEqual(tarballs, ['gatehouse-client-0.1.0.tgz', 'gatehouse-verify-0.1.0.tgz']);

  const app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'packed-app', private: true, type: 'module' }, null, 2));
  // Both tarballs in one install (one may depend on the other), with the peers the guards need.
  const started = Date.now();
  await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs.map((f) => path.join('..', f)), 'express@5', 'fastify@5'], app);
  t.diagnostic(`npm install took ${((Date.now() - started) / 1000).toFixed(1)} s`);

  writeFileSync(path.join(app, 'check.mjs'), CHECK);
  const { stdout } = await run(process.execPath, ['check.mjs'], app, cleanEnv({ ORIGIN: origin, TOKEN: token }));
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
  t.diagnostic(`loaded ${result.loaded.join(', ')}`);
  assert.ok(result.loaded.includes('@gatehouse/verify') && result.loaded.includes('@gatehouse/client'));
  assert.deepEqual(result.expressAnswers, [200, 401, 403]);
});
