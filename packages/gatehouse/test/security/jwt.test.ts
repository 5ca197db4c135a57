// Attack catalogue: forged, tampered and misused JWTs against every way this server accepts a token:
// Bearer on guarded routes, the caller of /auth/introspect, the token /auth/introspect is asked about, and
// the refresh route (an access token is not a refresh token). Every one is refused with the contract's
// error body (never a 500), nothing is written, and no key is ever fetched from a URL a token names.
import assert from 'node:assert/strict';
import { KeyObject, createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, cookiesOf, csrf, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';
import { changedTables, snapshot } from './snapshot.ts';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const parts = (token: string) => token.split('.');
const headerOf = (token: string) => JSON.parse(Buffer.from(parts(token)[0]!, 'base64url').toString());
const payloadOf = (token: string) => JSON.parse(Buffer.from(parts(token)[1]!, 'base64url').toString());
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** The same bytes, spelled with the lowest unused bit of the last character set (RFC 4648 §3.5 says zero). */
const strayBit = (segment: string) => {
  assert.notEqual(segment.length % 4, 0, 'a segment of 4n characters has no unused bits');
  return segment.slice(0, -1) + ALPHABET[ALPHABET.indexOf(segment.at(-1)!) | 1];
};

let server: TestServer;
let user: { token: string; refreshToken: string; id: string };
let admin: string;
let realKid: string;
let realJwk: Record<string, unknown>;
let realPem: string;
let signReal: (header: Record<string, unknown>, payload: Record<string, unknown>) => string;
/** Signs the text `h.p` as it stands with the server's own key: only its spelling can be at fault. */
let signRealText: (h: string, p: string) => string;

// The attacker's own key, and a JWKS server for it on loopback that counts every request it gets.
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ATTACKER_KID = 'attacker-key';
const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: ATTACKER_KID, alg: 'RS256', use: 'sig' };
let attackerServer: Server;
let attackerUrl: string;
const attackerHits: string[] = [];
const signAttacker = (header: Record<string, unknown>, payload: Record<string, unknown>) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), attacker.privateKey).toString('base64url')}`;
};
const hs256 = (secret: string | Buffer, header: Record<string, unknown>, payload: Record<string, unknown>) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};

before(async () => {
  attackerServer = createServer((req, res) => {
    attackerHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [attackerJwk] }));
  });
  await new Promise<void>((resolve) => attackerServer.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}`;

  server = await startTestServer({ env: { LOG_LEVEL: 'warn' } });
  const registered = await registerUser(server.app);
  user = { token: registered.body.accessToken, refreshToken: registered.body.refreshToken, id: registered.body.user.id };
  const adminEmail = uniqueEmail('admin');
  await createUser(server.runtime.ctx, { email: adminEmail, password: PASSWORD, role: 'admin', emailVerified: true } as never);
  admin = (await login(server.app, adminEmail)).body.accessToken;

  const jwks = (await call(server.app, 'GET', '/.well-known/jwks.json')).json();
  realJwk = jwks.keys[0];
  realKid = realJwk.kid as string;
  assert.equal(headerOf(user.token).kid, realKid);
  realPem = createPublicKey({ key: realJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  const signing = server.runtime.ctx.keyRing.signingKey();
  assert.equal(signing.alg, 'RS256');
  const privateKey = KeyObject.from(signing.key as never);
  signRealText = (h, p) => `${h}.${p}.${sign('sha256', Buffer.from(`${h}.${p}`), privateKey).toString('base64url')}`;
  signReal = (header, payload) => signRealText(b64(header), b64(payload));
});

after(async () => {
  await server?.close();
  attackerServer?.closeAllConnections();
  await new Promise<void>((resolve) => attackerServer?.close(() => resolve()));
});

/** A genuine header and claims for the user, to start every forgery from. */
function genuine() {
  return { header: headerOf(user.token) as Record<string, unknown>, payload: payloadOf(user.token) as Record<string, unknown> };
}

/** The genuine header and claims as segments of 4n + 2 characters (an extra member pads them), so each ends with unused bits. */
function unalignedSegments(): { h: string; p: string } {
  const { header, payload } = genuine();
  let h = b64(header);
  for (let pad = ''; h.length % 4 !== 2; pad += 'x') h = b64({ ...header, x: pad });
  let p = b64(payload);
  for (let pad = ''; p.length % 4 !== 2; pad += 'x') p = b64({ ...payload, x: pad });
  return { h, p };
}

/** Every forged or misused token, with the code the contract gives it. */
function attacks(): Array<[string, string, 'invalid_token' | 'token_expired']> {
  const { header, payload } = genuine();
  const now = Math.floor(server.runtime.ctx.now() / 1000);
  const [h, p, s] = parts(user.token) as [string, string, string];
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  const asAdmin = { ...payload, role: 'admin' };
  return [
    // Algorithm confusion
    ['alg none, no signature', `${b64({ ...header, alg: 'none' })}.${b64(asAdmin)}.`, 'invalid_token'],
    ['alg none, signature kept', `${b64({ ...header, alg: 'none' })}.${b64(asAdmin)}.${s}`, 'invalid_token'],
    ['alg "None"', `${b64({ ...header, alg: 'None' })}.${b64(asAdmin)}.`, 'invalid_token'],
    ['HS256 keyed with the RS public key as PEM', hs256(realPem, { ...header, alg: 'HS256' }, asAdmin), 'invalid_token'],
    ['HS256 keyed with the public key in PEM without its last newline', hs256(realPem.trimEnd(), { ...header, alg: 'HS256' }, asAdmin), 'invalid_token'],
    ['HS256 keyed with the public JWK as JSON bytes', hs256(JSON.stringify(realJwk), { ...header, alg: 'HS256' }, asAdmin), 'invalid_token'],
    ['HS256 keyed with the modulus bytes', hs256(Buffer.from(realJwk.n as string, 'base64url'), { ...header, alg: 'HS256' }, asAdmin), 'invalid_token'],
    ['HS256 keyed with the kid', hs256(realKid, { ...header, alg: 'HS256' }, asAdmin), 'invalid_token'],
    ['RS512 header on an RS256 signature', `${b64({ ...header, alg: 'RS512' })}.${p}.${s}`, 'invalid_token'],
    // Signatures
    ['signature stripped', `${h}.${p}.`, 'invalid_token'],
    ['signature stripped, no trailing dot', `${h}.${p}`, 'invalid_token'],
    ['payload tampered (role: admin)', `${h}.${b64(asAdmin)}.${s}`, 'invalid_token'],
    ['payload tampered (another sub)', `${h}.${b64({ ...payload, sub: randomUUID() })}.${s}`, 'invalid_token'],
    ['payload tampered (exp a year later)', `${h}.${b64({ ...payload, exp: now + 31_536_000 })}.${s}`, 'invalid_token'],
    ['header tampered (typ JWT)', `${b64({ ...header, typ: 'JWT' })}.${p}.${s}`, 'invalid_token'],
    ['header tampered (extra field)', `${b64({ ...header, x: 1 })}.${p}.${s}`, 'invalid_token'],
    ['signature tampered (first character)', `${h}.${p}.${flip(s, 0)}`, 'invalid_token'],
    ['signature tampered (middle character)', `${h}.${p}.${flip(s, Math.floor(s.length / 2))}`, 'invalid_token'],
    ['signature truncated', `${h}.${p}.${s.slice(0, -4)}`, 'invalid_token'],
    ['signature of another token', `${h}.${p}.${parts(admin)[2]}`, 'invalid_token'],
    ['signed by the attacker under the real kid', signAttacker(header, asAdmin), 'invalid_token'],
    // Key selection
    ['unknown kid', signAttacker({ ...header, kid: ATTACKER_KID }, asAdmin), 'invalid_token'],
    ['no kid', signAttacker({ alg: 'RS256', typ: 'at+jwt' }, asAdmin), 'invalid_token'],
    ['path-like kid ../../etc/passwd', signAttacker({ ...header, kid: '../../etc/passwd' }, asAdmin), 'invalid_token'],
    ['path-like kid /dev/null', hs256('', { ...header, alg: 'HS256', kid: '/dev/null' }, asAdmin), 'invalid_token'],
    ["SQL-like kid ' or 1=1", signAttacker({ ...header, kid: "' or 1=1" }, asAdmin), 'invalid_token'],
    ["SQL-like kid ' or '1'='1' --", signAttacker({ ...header, kid: "x' or '1'='1' --" }, asAdmin), 'invalid_token'],
    ['kid that is not a string', signAttacker({ ...header, kid: { $ne: null } }, asAdmin), 'invalid_token'],
    ['kid of 10,000 characters', signAttacker({ ...header, kid: 'k'.repeat(10_000) }, asAdmin), 'invalid_token'],
    ['kid __proto__', signAttacker({ ...header, kid: '__proto__' }, asAdmin), 'invalid_token'],
    // Keys named by the token itself (RFC 7515 §4.1.2-4.1.5): never fetched, never used
    ['jku to the attacker JWKS, attacker kid', signAttacker({ ...header, kid: ATTACKER_KID, jku: `${attackerUrl}/jwks.json` }, asAdmin), 'invalid_token'],
    ['jku to the attacker JWKS, real kid', signAttacker({ ...header, jku: `${attackerUrl}/jwks.json` }, asAdmin), 'invalid_token'],
    ['x5u to the attacker', signAttacker({ ...header, kid: ATTACKER_KID, x5u: `${attackerUrl}/cert.pem` }, asAdmin), 'invalid_token'],
    ['embedded jwk of the attacker, attacker kid', signAttacker({ ...header, kid: ATTACKER_KID, jwk: attackerJwk }, asAdmin), 'invalid_token'],
    ['embedded jwk of the attacker, real kid', signAttacker({ ...header, jwk: { ...attackerJwk, kid: realKid } }, asAdmin), 'invalid_token'],
    ['embedded jwk, no kid', signAttacker({ alg: 'RS256', typ: 'at+jwt', jwk: attackerJwk }, asAdmin), 'invalid_token'],
    ['x5c of the attacker', signAttacker({ ...header, kid: ATTACKER_KID, x5c: ['MIIB'] }, asAdmin), 'invalid_token'],
    ['crit extension required', signReal({ ...header, crit: ['exp2'], exp2: 1 }, payload), 'invalid_token'],
    // Claims, with a genuine signature from the server's own key
    ['wrong iss', signReal(header, { ...payload, iss: 'https://evil.test' }), 'invalid_token'],
    ['iss with a trailing slash', signReal(header, { ...payload, iss: `${payload.iss}/` }), 'invalid_token'],
    ['no iss', signReal(header, { ...payload, iss: undefined }), 'invalid_token'],
    ['wrong aud', signReal(header, { ...payload, aud: 'https://api.other.test' }), 'invalid_token'],
    ['no aud', signReal(header, { ...payload, aud: undefined }), 'invalid_token'],
    ['typ JWT', signReal({ ...header, typ: 'JWT' }, payload), 'invalid_token'],
    ['typ missing', signReal({ alg: header.alg, kid: header.kid }, payload), 'invalid_token'],
    ['typ of an id_token', signReal({ ...header, typ: 'id_token+jwt' }, payload), 'invalid_token'],
    ['nbf in the future', signReal(header, { ...payload, nbf: now + 3600 }), 'invalid_token'],
    ['expired', signReal(header, { ...payload, iat: now - 7200, exp: now - 3600 }), 'token_expired'],
    ['exp as a string', signReal(header, { ...payload, exp: String(now + 600) }), 'invalid_token'],
    ['no exp', signReal(header, { ...payload, exp: undefined }), 'invalid_token'],
    ['no sid', signReal(header, { ...payload, sid: undefined }), 'invalid_token'],
    // Shape
    ['100 KB token', `${h}.${b64({ ...payload, pad: 'x'.repeat(100 * 1024) })}.${s}`, 'invalid_token'],
    ['5 KB token', `${h}.${b64({ ...payload, pad: 'x'.repeat(5 * 1024) })}.${s}`, 'invalid_token'],
    ['bad base64 in the header', `${h.slice(0, 5)}*!${h.slice(5)}.${p}.${s}`, 'invalid_token'],
    ['bad base64 in the payload', `${h}.%%%${p}.${s}`, 'invalid_token'],
    ['two segments', `${h}.${p}`, 'invalid_token'],
    ['four segments', `${h}.${p}.${s}.${s}`, 'invalid_token'],
    ['five segments (JWE shape)', `${h}.${p}.${s}.${s}.${s}`, 'invalid_token'],
    ['header not JSON', `${b64('not json')}.${p}.${s}`, 'invalid_token'],
    ['header a JSON array', `${b64([1, 2])}.${p}.${s}`, 'invalid_token'],
    ['header JSON null', `${b64('null')}.${p}.${s}`, 'invalid_token'],
    ['payload not JSON', `${h}.${b64('{"sub":')}.${s}`, 'invalid_token'],
    ['one segment', 'eyJhbGciOiJSUzI1NiJ9', 'invalid_token'],
    ['dots only', '..', 'invalid_token'],
    // The genuine token re-spelled: the same bytes, another string (RFC 7515 §2: unpadded base64url only)
    ['signature padded with =', `${h}.${p}.${s}=`, 'invalid_token'],
    ['signature padded with ==', `${h}.${p}.${s}==`, 'invalid_token'],
    ['signature with a stray low bit', `${h}.${p}.${strayBit(s)}`, 'invalid_token'],
    ['header padded, that text signed', signRealText(`${unalignedSegments().h}==`, unalignedSegments().p), 'invalid_token'],
    ['header with a stray low bit, that text signed', signRealText(strayBit(unalignedSegments().h), unalignedSegments().p), 'invalid_token'],
    ['payload with a stray low bit, that text signed', signRealText(unalignedSegments().h, strayBit(unalignedSegments().p)), 'invalid_token'],
    // A token of another kind
    ['a refresh token as an access token', user.refreshToken, 'invalid_token'],
    ['a session-cookie value as an access token', 'ghs_' + 'A'.repeat(43), 'invalid_token'],
  ];
}

/** Every way a request can carry an access token to this server, and the answer that means "refused". */
const SURFACES: Array<{ name: string; send: (token: string) => ReturnType<typeof call> }> = [
  { name: 'GET /auth/me', send: (token) => call(server.app, 'GET', '/auth/me', { headers: { authorization: `Bearer ${token}` } }) },
  { name: 'PATCH /auth/me', send: (token) => call(server.app, 'PATCH', '/auth/me', { headers: { authorization: `Bearer ${token}` }, body: { name: 'Pwned' } }) },
  { name: 'GET /auth/sessions', send: (token) => call(server.app, 'GET', '/auth/sessions', { headers: { authorization: `Bearer ${token}` } }) },
  { name: 'POST /auth/logout-all', send: (token) => call(server.app, 'POST', '/auth/logout-all', { headers: { authorization: `Bearer ${token}` } }) },
  { name: 'POST /auth/api-keys', send: (token) => call(server.app, 'POST', '/auth/api-keys', { headers: { authorization: `Bearer ${token}` }, body: { name: 'pwned', scopes: ['introspect'] } }) },
  { name: 'GET /admin/users', send: (token) => call(server.app, 'GET', '/admin/users', { headers: { authorization: `Bearer ${token}` } }) },
  { name: 'PATCH /admin/users/:id', send: (token) => call(server.app, 'PATCH', `/admin/users/${user.id}`, { headers: { authorization: `Bearer ${token}` }, body: { role: 'admin' } }) },
  { name: 'POST /auth/introspect (as the caller)', send: (token) => call(server.app, 'POST', '/auth/introspect', { headers: { authorization: `Bearer ${token}` }, body: { token: user.token } }) },
];

describe('forged and misused access tokens', () => {
  it('the genuine tokens work, so the refusals below are about the forgery', async () => {
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: user.token })).statusCode, 200);
    assert.equal((await call(server.app, 'GET', '/admin/users', { token: admin })).statusCode, 200);
    const res = await call(server.app, 'POST', '/auth/introspect', { token: admin, body: { token: user.token } });
    assert.equal(res.json().active, true);
  });

  it('every forgery is refused on every route that takes a Bearer token, with 401 and the right code', async () => {
    const before = await snapshot(server);
    let checked = 0;
    for (const [what, token, code] of attacks()) {
      for (const surface of SURFACES) {
        const res = await surface.send(token);
        assert.ok(res.statusCode < 500, `${what} on ${surface.name}: ${res.statusCode} ${res.body}`);
        // A header that is not even "Bearer <token68>" is refused as invalid_token too (RFC 6750 §3.1).
        try {
          expectError(res, 401, code);
        } catch (err) {
          throw new Error(`${what} on ${surface.name}: ${(err as Error).message}`);
        }
        checked += 1;
      }
    }
    assert.ok(checked >= 60 * SURFACES.length);
    const after = await snapshot(server);
    assert.deepEqual(changedTables(before, after), [], 'no forged token changed anything');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: user.token })).json().user.name, 'Test User');
  });

  it('/auth/introspect answers exactly {"active":false} for every forgery it is asked about', async () => {
    for (const [what, token] of attacks()) {
      for (const body of [{ token }, `token=${encodeURIComponent(token)}`]) {
        const res = await call(server.app, 'POST', '/auth/introspect', {
          token: admin,
          body,
          headers: typeof body === 'string' ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
        });
        // Over the body limit (64 KiB) or the field's 8192 characters: refused before any token check.
        if (token.length > 64 * 1024) {
          expectError(res, 413, 'payload_too_large');
          continue;
        }
        if (token.length > 8192) {
          expectError(res, 400, 'validation_failed');
          continue;
        }
        assert.equal(res.statusCode, 200, `${what}: ${res.body}`);
        assert.deepEqual(res.json(), { active: false }, what);
      }
    }
  });

  it('the re-spelled forgeries are the genuine token in another spelling: spelled canonically, each is accepted', async () => {
    const [h, p, s] = parts(user.token) as [string, string, string];
    assert.deepEqual(Buffer.from(strayBit(s), 'base64url'), Buffer.from(s, 'base64url'), 'the same signature bytes');
    const { h: uh, p: up } = unalignedSegments();
    assert.deepEqual(Buffer.from(strayBit(up), 'base64url'), Buffer.from(up, 'base64url'), 'the same claims bytes');
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: `${h}.${p}.${s}` })).statusCode, 200);
    assert.equal((await call(server.app, 'GET', '/auth/me', { token: signRealText(uh, up) })).statusCode, 200);
  });

  it('never fetches a key from a jku, x5u or embedded jwk, however often it is asked', async () => {
    assert.deepEqual(attackerHits, [], 'the attacker JWKS server was never contacted');
    // And the attacker's JWKS really is reachable: had the server followed jku, it would have been hit.
    assert.equal((await fetch(`${attackerUrl}/probe`)).status, 200);
    assert.deepEqual(attackerHits, ['/probe']);
  });

  it('a header that is not "Bearer <token>" is invalid_token; none at all is authentication_required', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', `Bearer`, `Bearer ${user.token} extra`, `bearer\t${user.token}`, `Token ${user.token}`, 'Bearer ' + '€'.repeat(10), `Bearer ${user.token}, Bearer ${admin}`]) {
      const res = await call(server.app, 'GET', '/auth/me', { headers: { authorization: header } });
      expectError(res, 401, 'invalid_token');
    }
    expectError(await call(server.app, 'GET', '/auth/me'), 401, 'authentication_required');
  });
});

describe('tokens in the wrong place', () => {
  it('an access token used as a refresh token, in the body, is invalid_refresh_token and rotates nothing', async () => {
    const before = await snapshot(server);
    for (const token of [user.token, admin]) {
      expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: token } }), 401, 'invalid_refresh_token');
    }
    expectError(await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: `ghr_${parts(user.token)[2]}` } }), 401, 'invalid_refresh_token');
    assert.deepEqual(changedTables(before, await snapshot(server)), []);
  });

  it('an access token used as the refresh cookie (with a valid CSRF token) is invalid_refresh_token', async () => {
    const before = await snapshot(server);
    const token = await csrf(server.app);
    const res = await call(server.app, 'POST', '/auth/refresh', {
      cookies: { gh_refresh: user.token, gh_csrf: token.cookie },
      headers: { 'x-csrf-token': token.token },
    });
    expectError(res, 401, 'invalid_refresh_token');
    assert.equal(cookiesOf(res).gh_refresh?.value ?? '', '', 'the bad cookie is cleared');
    assert.deepEqual(changedTables(before, await snapshot(server)), []);
  });

  it('an access token used as the session cookie is refused', async () => {
    const res = await call(server.app, 'GET', '/auth/me', { cookies: { gh_session: user.token } });
    assert.equal(res.statusCode, 401, res.body);
    assert.match(res.json().error.code, /^(invalid_token|authentication_required|token_revoked)$/);
  });

  it('a refresh token used as an access token is refused on every surface, and still works as a refresh token afterwards', async () => {
    for (const surface of SURFACES) expectError(await surface.send(user.refreshToken), 401, 'invalid_token');
    const res = await call(server.app, 'POST', '/auth/introspect', { token: admin, body: { token: user.refreshToken } });
    assert.deepEqual(res.json(), { active: false });
    const rotated = await call(server.app, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    assert.equal(rotated.statusCode, 200, rotated.body);
  });
});

describe('the other signing algorithms (JWT_ALG)', () => {
  for (const alg of ['ES256', 'EdDSA', 'HS256'] as const) {
    it(`${alg}: algorithm confusion, stripped and foreign signatures are refused`, async () => {
      const secret = 'a-jwt-secret-of-at-least-32-characters-0123456789';
      const other = await startTestServer({ env: { LOG_LEVEL: 'warn', JWT_ALG: alg, ...(alg === 'HS256' ? { JWT_SECRET: secret } : {}) } });
      try {
        const { body } = await registerUser(other.app);
        const token = body.accessToken as string;
        const [h, p, s] = parts(token) as [string, string, string];
        const header = headerOf(token);
        assert.equal(header.alg, alg);
        const asAdmin = { ...payloadOf(token), role: 'admin' };
        const jwks = (await call(other.app, 'GET', '/.well-known/jwks.json')).json();
        const forgeries: Array<[string, string]> = [
          ['alg none', `${b64({ ...header, alg: 'none' })}.${b64(asAdmin)}.`],
          ['signature stripped', `${h}.${p}.`],
          ['payload tampered', `${h}.${b64(asAdmin)}.${s}`],
          ['RS256 by the attacker under the real kid', signAttacker({ ...header, alg: 'RS256' }, asAdmin)],
          ['HS256 keyed with the server secret but alg HS512', hs256(secret, { ...header, alg: 'HS512' }, asAdmin)],
          ['HS256 keyed with a guessed secret', hs256('secret', { ...header, alg: 'HS256' }, asAdmin)],
          ...['ES256', 'EdDSA', 'RS256', 'HS256'].filter((a) => a !== alg).map((a): [string, string] => [`alg switched to ${a}, signature kept`, `${b64({ ...header, alg: a })}.${p}.${s}`]),
        ];
        if (alg === 'HS256') {
          assert.deepEqual(jwks.keys, [], 'an HMAC key is never published');
        } else {
          const jwk = jwks.keys[0];
          const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
          forgeries.push(
            ['HS256 keyed with the public key as PEM', hs256(pem, { ...header, alg: 'HS256' }, asAdmin)],
            ['HS256 keyed with the public JWK as JSON', hs256(JSON.stringify(jwk), { ...header, alg: 'HS256' }, asAdmin)],
            ['HS256 keyed with the public x coordinate', hs256(Buffer.from(jwk.x, 'base64url'), { ...header, alg: 'HS256' }, asAdmin)],
          );
        }
        assert.equal((await call(other.app, 'GET', '/auth/me', { token })).statusCode, 200);
        for (const [what, forged] of forgeries) {
          try {
            expectError(await call(other.app, 'GET', '/auth/me', { token: forged }), 401, 'invalid_token');
          } catch (err) {
            throw new Error(`${alg}, ${what}: ${(err as Error).message}`);
          }
        }
      } finally {
        await other.close();
      }
    });
  }
});
