// Attack catalogue: finding out which accounts exist. Login with a wrong password, forgot-password and
// resending the verification e-mail answer known and unknown accounts with the same status, headers and
// body, and in the same time (medians of interleaved in-process samples on loopback, within 10%).
// Registration is the contract's one exception (409 email_taken); it is bounded by the sign-up limit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import type { LightMyRequestResponse } from 'fastify';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, call, expectError, login, registerUser, uniqueEmail } from '../helpers/http.ts';

// Headers that differ between any two responses, whatever they answer.
const VOLATILE = new Set(['date', 'ratelimit-remaining', 'ratelimit-reset', 'x-request-id', 'retry-after']);

function shape(res: LightMyRequestResponse) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([k]) => !VOLATILE.has(k)));
  return { status: res.statusCode, headers, body: res.body };
}

let server: TestServer;
let known: { email: string; token: string; id: string };
let disabled: string;

before(async () => {
  server = await startTestServer({ env: { LOG_LEVEL: 'warn' } });
  const registered = await registerUser(server.app);
  known = { email: registered.email, token: registered.body.accessToken, id: registered.body.user.id };
  const off = await registerUser(server.app);
  const now = server.runtime.ctx.now();
  await server.runtime.ctx.users.update(off.body.user.id, { disabledAt: now }, now);
  disabled = off.email;
});
after(() => server?.close());

describe('the same answer for known and unknown accounts', () => {
  it('login with a wrong password: unknown, known, known in another case, disabled: one status, one body, one header set', async () => {
    const answers = [];
    for (const email of [uniqueEmail('nobody'), known.email, known.email.toUpperCase(), `  ${known.email}  `, disabled]) {
      const res = await call(server.app, 'POST', '/auth/login', { body: { email, password: 'wrong password 123' }, ip: '10.20.0.1' });
      expectError(res, 401, 'invalid_credentials');
      answers.push(shape(res));
    }
    for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
  });

  it('with REQUIRE_EMAIL_VERIFICATION, an unverified account with a wrong password answers like an unknown one', async () => {
    const strict = await startTestServer({ env: { LOG_LEVEL: 'warn', REQUIRE_EMAIL_VERIFICATION: 'true' } });
    try {
      const { email } = await registerUser(strict.app);
      const a = await call(strict.app, 'POST', '/auth/login', { body: { email, password: 'wrong password 123' } });
      const b = await call(strict.app, 'POST', '/auth/login', { body: { email: uniqueEmail('nobody'), password: 'wrong password 123' } });
      expectError(a, 401, 'invalid_credentials');
      assert.deepEqual(shape(a), shape(b));
      // Only the right password learns that the address is unverified.
      expectError(await call(strict.app, 'POST', '/auth/login', { body: { email, password: PASSWORD } }), 403, 'email_not_verified');
    } finally {
      await strict.close();
    }
  });

  it('the account lockout looks the same for an unknown address as for a known one', async () => {
    const strict = await startTestServer({ env: { LOG_LEVEL: 'warn', RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' } });
    try {
      const { email } = await registerUser(strict.app);
      const nobody = uniqueEmail('nobody');
      const trail = (address: string, ipBase: number) =>
        (async () => {
          const out = [];
          for (let i = 0; i < 5; i++) out.push(shape(await call(strict.app, 'POST', '/auth/login', { body: { email: address, password: 'wrong password 123' }, ip: `10.30.${ipBase}.${i}` })));
          return out;
        })();
      const knownTrail = await trail(email, 1);
      const unknownTrail = await trail(nobody, 2);
      assert.deepEqual(knownTrail.map((a) => a.status), [401, 401, 401, 429, 429]);
      assert.deepEqual(unknownTrail, knownTrail);
    } finally {
      await strict.close();
    }
  });

  it('forgot-password: known, unknown, disabled and malformed-but-valid addresses get the same 202', async () => {
    const answers = [];
    for (const email of [known.email, uniqueEmail('nobody'), disabled, known.email.toUpperCase()]) {
      const res = await call(server.app, 'POST', '/auth/forgot-password', { body: { email }, ip: '10.20.0.2' });
      assert.equal(res.statusCode, 202, res.body);
      answers.push(shape(res));
    }
    for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
    await server.runtime.ctx.background.drain();
  });

  it('magic link: known, unknown, disabled and differently-cased addresses get the same 202', async () => {
    const answers = [];
    for (const email of [known.email, uniqueEmail('nobody'), disabled, known.email.toUpperCase()]) {
      const res = await call(server.app, 'POST', '/auth/magic-link', { body: { email }, ip: '10.20.0.4' });
      assert.equal(res.statusCode, 202, res.body);
      answers.push(shape(res));
    }
    for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
    await server.runtime.ctx.background.drain();
  });

  it('resend verification: a verified and an unverified account get the same 202 (it needs a sign-in, so no stranger can ask)', async () => {
    expectError(await call(server.app, 'POST', '/auth/verify-email/resend'), 401, 'authentication_required');
    const unverified = await call(server.app, 'POST', '/auth/verify-email/resend', { token: known.token, ip: '10.20.0.3' });
    const now = server.runtime.ctx.now();
    const verifiedUser = await registerUser(server.app);
    await server.runtime.ctx.users.update(verifiedUser.body.user.id, { emailVerifiedAt: now }, now);
    const verified = await call(server.app, 'POST', '/auth/verify-email/resend', { token: verifiedUser.body.accessToken, ip: '10.20.0.3' });
    assert.equal(unverified.statusCode, 202, unverified.body);
    assert.deepEqual(shape(verified), shape(unverified));
    await server.runtime.ctx.background.drain();
  });

  it('register with a taken address: 409 email_taken as the contract says, in any case or spacing; probing is bounded by RATE_LIMIT_SIGNUP_IP', async () => {
    for (const email of [known.email, known.email.toUpperCase(), ` ${known.email} `]) {
      expectError(await call(server.app, 'POST', '/auth/register', { body: { email, password: PASSWORD } }), 409, 'email_taken');
    }
    const limited = await startTestServer({ env: { LOG_LEVEL: 'warn', RATE_LIMIT_SIGNUP_IP: '3/1h' } });
    try {
      const { email } = await registerUser(limited.app);
      for (let i = 0; i < 2; i++) expectError(await call(limited.app, 'POST', '/auth/register', { body: { email, password: PASSWORD } }), 409, 'email_taken');
      // The probe that would tell taken from free is now refused the same way for both.
      const taken = await call(limited.app, 'POST', '/auth/register', { body: { email, password: PASSWORD } });
      const free = await call(limited.app, 'POST', '/auth/register', { body: { email: uniqueEmail('free'), password: PASSWORD } });
      expectError(taken, 429, 'rate_limited');
      assert.deepEqual(shape(taken).body, shape(free).body);
    } finally {
      await limited.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Timing

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Interleaved samples (A B, B A, A B, …), each bounded. The difference is the median of the paired
 * differences (each A against the B taken next to it) over the median of all samples: a load spike from
 * another process slows both members of a pair and cancels out, where it would shift one plain median.
 * The plain medians are printed too. `settle` runs after each sample, outside the timed span. Up to three
 * batches are taken while the difference is over `limit`; more samples only make the medians truer.
 */
async function compare(name: string, a: () => Promise<unknown>, b: () => Promise<unknown>, options: { perBatch: number; limit: number; settle?: () => Promise<unknown> }) {
  const times: { a: number[]; b: number[] } = { a: [], b: [] };
  const time = async (work: () => Promise<unknown>) => {
    const started = process.hrtime.bigint();
    await work();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await options.settle?.();
    return ms;
  };
  // Warm-up, not counted.
  for (let i = 0; i < 3; i++) {
    await time(a);
    await time(b);
  }
  let result = { known: 0, unknown: 0, diff: 0 };
  for (let batch = 1; batch <= 3; batch++) {
    for (let i = 0; i < options.perBatch; i++) {
      if (i % 2 === 0) {
        times.a.push(await time(a));
        times.b.push(await time(b));
      } else {
        times.b.push(await time(b));
        times.a.push(await time(a));
      }
    }
    const known = median(times.a);
    const unknown = median(times.b);
    const paired = median(times.a.map((t, i) => t - times.b[i]!));
    const diff = Math.abs(paired) / median([...times.a, ...times.b]);
    result = { known, unknown, diff };
    console.log(
      `# timing ${name}: known ${known.toFixed(3)} ms, unknown ${unknown.toFixed(3)} ms (medians of ${times.a.length} each, batch ${batch}); ` +
        `median paired difference ${paired.toFixed(3)} ms = ${(diff * 100).toFixed(1)}%`,
    );
    if (diff <= options.limit) break;
  }
  return result;
}

describe('the same time for known and unknown accounts', () => {
  let timed: TestServer;
  let email: string;
  before(async () => {
    // Real limits would stop the samples; the per-account counter is what a wrong password costs, for both.
    timed = await startTestServer({ env: { LOG_LEVEL: 'warn', RATE_LIMIT_LOGIN_ACCOUNT: '100000/15m', RATE_LIMIT_LOGIN_IP: '100000/15m', RATE_LIMIT_SIGNUP_IP: '100000/1h', RATE_LIMIT_MAIL_ACCOUNT: '100000/1h' } });
    email = (await registerUser(timed.app)).email;
  });
  after(() => timed?.close());

  const SAMPLES = Number(process.env.TIMING_SAMPLES ?? 60);

  it('login with a wrong password: unknown vs known within 10% (argon2id for both)', async () => {
    let n = 0;
    const attempt = (address: string) => async () => {
      n += 1;
      const res = await call(timed.app, 'POST', '/auth/login', { body: { email: address, password: 'wrong password 123' }, ip: `10.40.${n % 250}.1` });
      assert.equal(res.statusCode, 401, res.body);
    };
    const nobody = `x${email.slice(1)}`;
    const { diff } = await compare('login', attempt(email), attempt(nobody), { perBatch: SAMPLES, limit: 0.1 });
    assert.ok(diff <= 0.1, `login timing differs by ${(diff * 100).toFixed(1)}%`);
  });

  // bcrypt cost 10 takes several times longer than argon2id; every failed login is padded to the slowest
  // recent check, so the imported account does not show itself.
  it(
    'login with a wrong password for an imported bcrypt account (not yet rehashed): unknown vs known within 10%',
    async () => {
      const { body, email: imported } = await registerUser(timed.app);
      const now = timed.runtime.ctx.now();
      await timed.runtime.ctx.users.update(body.user.id, { passwordHash: bcrypt.hashSync('an imported password', 10) }, now);
      const attempt = (address: string) => async () => {
        const res = await call(timed.app, 'POST', '/auth/login', { body: { email: address, password: 'wrong password 123' } });
        assert.equal(res.statusCode, 401, res.body);
      };
      const { diff } = await compare('login, imported bcrypt account', attempt(imported), attempt(uniqueEmail('nobody')), { perBatch: 6, limit: 0.1 });
      assert.ok(diff <= 0.1, `login timing differs by ${(diff * 100).toFixed(1)}%`);
    },
  );

  it('forgot-password: unknown vs known within 10% (the lookup and the e-mail happen after the answer)', async () => {
    let n = 0;
    const attempt = (address: string) => async () => {
      n += 1;
      const res = await call(timed.app, 'POST', '/auth/forgot-password', { body: { email: address }, ip: `10.50.${n % 250}.1` });
      assert.equal(res.statusCode, 202, res.body);
    };
    // The e-mail work of one request must not land inside the next sample, so it is drained in between, and
    // the file write's last callbacks are given a millisecond (without it, back-to-back samples measured
    // that leftover, about 40 µs, on whichever request came next).
    const settle = async () => {
      await timed.runtime.ctx.background.drain();
      await new Promise((resolve) => setTimeout(resolve, 1));
    };
    // An unknown address of the same length, so that only its existence differs.
    const nobody = `x${email.slice(1)}`;
    const { diff } = await compare('forgot-password', attempt(email), attempt(nobody), { perBatch: SAMPLES * 10, limit: 0.1, settle });
    assert.ok(diff <= 0.1, `forgot-password timing differs by ${(diff * 100).toFixed(1)}%`);
  });

  it('magic link: unknown vs known within 10% (the lookup and the e-mail happen after the answer)', async () => {
    let n = 0;
    const attempt = (address: string) => async () => {
      n += 1;
      const res = await call(timed.app, 'POST', '/auth/magic-link', { body: { email: address }, ip: `10.60.${n % 250}.1` });
      assert.equal(res.statusCode, 202, res.body);
    };
    const settle = async () => {
      await timed.runtime.ctx.background.drain();
      await new Promise((resolve) => setTimeout(resolve, 1));
    };
    const nobody = `x${email.slice(1)}`;
    const { diff } = await compare('magic link', attempt(email), attempt(nobody), { perBatch: SAMPLES * 10, limit: 0.1, settle });
    assert.ok(diff <= 0.1, `magic-link timing differs by ${(diff * 100).toFixed(1)}%`);
  });
});
