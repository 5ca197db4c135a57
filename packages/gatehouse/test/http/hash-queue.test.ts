// Issue 9: password hashing is bounded. A login flood is refused with 503 + Retry-After once the queue is full,
// and everything that does not hash (token checks, health) keeps answering quickly throughout.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PasswordHasher } from '../../src/crypto/passwords.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, registerUser } from '../helpers/http.ts';

describe('bounded password hashing', () => {
  test('at most `concurrency` run, at most `queueMax` wait, the rest are refused at once', async () => {
    const hasher = new PasswordHasher(1, 2);
    const stored = await hasher.hash(PASSWORD);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => hasher.verify(stored, PASSWORD)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(ok.length, 3, 'one running and two queued complete');
    assert.equal(refused.length, 5);
    for (const r of refused) assert.equal(r.reason.code, 'service_unavailable');
    for (const r of ok) assert.equal((r as PromiseFulfilledResult<{ ok: boolean }>).value.ok, true);
    assert.deepEqual(hasher.load, { queued: 0, running: 0 }, 'every slot is given back');
  });

  test('a slot is given back when the work fails', async () => {
    const hasher = new PasswordHasher(1, 0);
    // An unsupported stored hash is a "wrong password", not a thrown error; a check still returns its slot.
    assert.equal((await hasher.verify('not-a-hash', PASSWORD)).ok, false);
    assert.deepEqual(hasher.load, { queued: 0, running: 0 });
    assert.equal((await hasher.verify(await hasher.hash(PASSWORD), PASSWORD)).ok, true);
  });

  test('the default queue holds about one second of work, never less than one per slot', async () => {
    const hasher = await PasswordHasher.open({ concurrency: 2, queueMax: null });
    assert.ok(hasher.queueMax >= 2, `queueMax ${hasher.queueMax}`);
    // argon2id with OWASP parameters takes milliseconds, not microseconds: the estimate stays in a sane range.
    assert.ok(hasher.queueMax < 5000, `queueMax ${hasher.queueMax}`);
  });
});

describe('a login flood', () => {
  let server: TestServer;
  let base: string;
  let email: string;
  let accessToken: string;

  before(async () => {
    server = await startTestServer({ env: { HASH_CONCURRENCY: '1', HASH_QUEUE_MAX: '4' } });
    const registered = await registerUser(server.app);
    email = registered.email;
    accessToken = registered.body.accessToken;
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  test('is refused with 503 and Retry-After past the queue, while /auth/me and /health answer quickly', async () => {
    const statuses = new Map<number, number>();
    let refusedWithRetryAfter = 0;
    let floodDone = false;

    const attacker = async () => {
      for (let i = 0; i < 15; i++) {
        const res = await fetch(`${base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: PASSWORD, mode: 'token' }),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 503) {
          const body = (await res.json()) as { error: { code: string } };
          assert.equal(body.error.code, 'service_unavailable');
          if (Number(res.headers.get('retry-after')) >= 1) refusedWithRetryAfter += 1;
        } else await res.arrayBuffer();
      }
    };

    const probeLatencies: number[] = [];
    const prober = async () => {
      while (!floodDone) {
        for (const [path, headers] of [
          ['/health', {}],
          ['/auth/me', { authorization: `Bearer ${accessToken}` }],
        ] as const) {
          const started = performance.now();
          const res = await fetch(`${base}${path}`, { headers });
          await res.arrayBuffer();
          probeLatencies.push(performance.now() - started);
          assert.equal(res.status, 200, `${path} answered ${res.status} during the flood`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    const probing = prober();
    await Promise.all(Array.from({ length: 24 }, attacker));
    floodDone = true;
    await probing;

    const accepted = statuses.get(200) ?? 0;
    const refused = statuses.get(503) ?? 0;
    assert.deepEqual([...statuses.keys()].filter((s) => s !== 200 && s !== 503), [], `only 200 and 503: ${JSON.stringify([...statuses])}`);
    assert.ok(accepted >= 5, `some logins still succeed (${accepted})`);
    assert.ok(refused > 0, 'the flood overflows the queue');
    assert.equal(refusedWithRetryAfter, refused, 'every refusal says when to come back');

    probeLatencies.sort((a, b) => a - b);
    const p95 = probeLatencies[Math.floor(probeLatencies.length * 0.95)]!;
    console.log(`login flood: ${accepted} logins accepted, ${refused} refused with 503; ${probeLatencies.length} probes, p95 ${p95.toFixed(1)} ms, max ${probeLatencies.at(-1)!.toFixed(1)} ms`);
    assert.ok(probeLatencies.length >= 4, 'the probes ran during the flood');
    // One argon2id check takes tens of milliseconds; a queued-without-bound flood would push probes to seconds.
    assert.ok(p95 < 250, `probe p95 ${p95.toFixed(1)} ms`);

    // Operators see the refusals and the queue.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const refusedMetric = /gatehouse_rate_limited_total\{limit="hash_queue"\} (\d+)/.exec(metrics);
    assert.equal(Number(refusedMetric?.[1]), refused);
    assert.match(metrics, /gatehouse_password_hash_queue 0/);
  });
});
