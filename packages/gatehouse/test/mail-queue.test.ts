// The durable mail queue: mail outlives an SMTP outage and a restart, is retried with backoff, given up after
// MAIL_MAX_ATTEMPTS, sealed at rest, and claimed by one instance at a time on PostgreSQL.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SqlMailQueueStore } from '../src/db/mail-queue-store.ts';
import { MAIL_MAX_ATTEMPTS, retryDelayMs } from '../src/mail/queue.ts';
import { MailSealer } from '../src/mail/seal.ts';
import { PrometheusMetrics } from '../src/metrics.ts';
import { startTestServer, TEST_SECRET, type TestServer } from './helpers/app.ts';
import { skipUnlessPostgres, tempDataDir } from './helpers/backends.ts';
import { call, registerUser, uniqueEmail } from './helpers/http.ts';
import { freePort, linkIn, startSmtpSink, type SmtpSink } from './helpers/mail.ts';

const T0 = Date.UTC(2030, 0, 1);

async function rows(server: TestServer) {
  return server.runtime.database.db.selectFrom('mail_queue').selectAll().orderBy('id').execute();
}

describe('mail queue', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('keeps the verification mail while SMTP is down, across a restart, and delivers it once SMTP is back', async () => {
    const port = await freePort();
    const data = tempDataDir();
    cleanup.push(() => data.remove());
    const env = { SMTP_URL: `smtp://tester:secret@127.0.0.1:${port}`, REQUIRE_EMAIL_VERIFICATION: 'true' };
    let server = await startTestServer({ env, dataDir: data.dir, fakeClock: T0 });
    const email = uniqueEmail('queued');
    await registerUser(server.app, { email });
    await server.runtime.ctx.background.drain();

    let [row] = await rows(server);
    assert.ok(row, 'the message is queued, not lost');
    assert.equal(row.status, 'pending');
    assert.equal(row.attempts, 1);
    assert.match(row.last_error ?? '', /ECONNREFUSED|ESOCKET|ECONNECTION/);
    assert.equal(row.next_attempt_at, T0 + retryDelayMs(1));
    assert.ok(!row.message.includes('verify-email') && !row.message.includes(email), 'the body is sealed at rest');
    const failure = server.logs.map((l) => JSON.parse(l)).find((l) => l.msg?.startsWith('mail delivery failed'));
    assert.ok(failure, 'the failure is logged');
    assert.match(failure.error.code, /^E[A-Z]+$/, 'with its error code, not "[redacted]"');
    assert.ok(!server.logs.join('').includes('verify-email?token='), 'never the link');

    // A restart while SMTP is still down: the row is still there, and still not due.
    await server.close();
    server = await startTestServer({ env, dataDir: data.dir, fakeClock: T0 + 60_000 });
    cleanup.push(() => server.close());
    await server.runtime.ctx.background.drain();
    [row] = await rows(server);
    assert.equal(row!.status, 'pending');
    assert.equal(row!.attempts, 1, 'not retried before its time');

    const smtp: SmtpSink = await startSmtpSink(port);
    cleanup.push(() => smtp.close());
    server.clock!.advance(retryDelayMs(1));
    assert.deepEqual(await server.runtime.mail.deliverDue(), { sent: 1, failed: 0, dead: 0 });
    const [mail] = smtp.to(email);
    assert.ok(mail, 'delivered after the retry');
    [row] = await rows(server);
    assert.equal(row!.status, 'sent');
    assert.equal(row!.message, '', 'the body is dropped once delivered');

    // The link from the retried mail works.
    const token = linkIn(mail, '/verify-email').searchParams.get('token');
    assert.equal((await call(server.app, 'POST', '/auth/verify-email', { body: { token } })).statusCode, 200);
    assert.equal(smtp.to(email).length, 1, 'sent once');
  });

  it('backs off exponentially, gives up after MAIL_MAX_ATTEMPTS, and counts it in the metrics', async () => {
    const port = await freePort();
    const server = await startTestServer({ env: { SMTP_URL: `smtp://127.0.0.1:${port}` }, fakeClock: T0 });
    cleanup.push(() => server.close());
    await server.runtime.ctx.mailer.send({ to: 'nobody@example.com', subject: 'Hello', text: 'secret link', html: '<p>secret link</p>' });
    await server.runtime.ctx.background.drain();
    let waited = 0;
    for (let attempt = 2; attempt <= MAIL_MAX_ATTEMPTS; attempt++) {
      const delay = retryDelayMs(attempt - 1);
      server.clock!.advance(delay - 1);
      assert.equal((await server.runtime.mail.deliverDue()).failed, 0, 'not due a millisecond early');
      server.clock!.advance(1);
      waited += delay;
      const report = await server.runtime.mail.deliverDue();
      assert.equal(report.failed + report.dead, 1);
    }
    assert.ok(waited > 18 * 3_600_000 && waited < 30 * 3_600_000, `given up about a day later (${waited / 3_600_000} h)`);
    const [row] = await rows(server);
    assert.equal(row!.status, 'dead');
    assert.equal(row!.attempts, MAIL_MAX_ATTEMPTS);
    assert.equal(row!.message, '');
    assert.ok(server.logs.some((l) => l.includes('mail given up')));
    const text = await (server.runtime.ctx.metrics as PrometheusMetrics).registry.metrics();
    assert.match(text, /gatehouse_mail_total\{result="failed"\} 9/);
    assert.match(text, /gatehouse_mail_total\{result="dead"\} 1/);
    assert.match(text, /gatehouse_mail_queued 0/);
    assert.match(text, /gatehouse_mail_dead 1/);
  });

  it('reads the outbox right after a request, as before: enqueue kicks the worker', async () => {
    const smtp = await startSmtpSink();
    cleanup.push(() => smtp.close());
    const server = await startTestServer({ env: { SMTP_URL: smtp.url } });
    cleanup.push(() => server.close());
    const email = uniqueEmail('kick');
    await registerUser(server.app, { email });
    assert.equal((await call(server.app, 'POST', '/auth/forgot-password', { body: { email } })).statusCode, 202);
    await server.runtime.ctx.background.drain();
    assert.ok(smtp.to(email).some((m) => m.subject.startsWith('Reset')), 'the reset mail is there once the background work is drained');
    assert.equal((await rows(server)).filter((r) => r.status !== 'sent').length, 0);
  });

  it('lets one of two instances on PostgreSQL claim a message, never both', async (t) => {
    const skip = await skipUnlessPostgres();
    if (skip) return t.skip(skip);
    const server = await startTestServer({ postgres: true, fakeClock: T0 });
    cleanup.push(() => server.close());
    server.runtime.mail.stop();
    const { db, dialect } = server.runtime.database;
    const one = new SqlMailQueueStore(db, dialect, new MailSealer(TEST_SECRET));
    const two = new SqlMailQueueStore(db, dialect, new MailSealer(TEST_SECRET));
    for (let i = 0; i < 40; i++) await one.enqueue({ to: `n${i}@example.com`, subject: 's', text: 't', html: 'h' }, T0);
    const [a, b] = await Promise.all([one.claimDue(T0, 30, T0 + 60_000), two.claimDue(T0, 30, T0 + 60_000)]);
    const ids = [...a, ...b].map((m) => m.id);
    assert.equal(ids.length, 40, 'every message claimed');
    assert.equal(new Set(ids).size, 40, 'none claimed twice');
    assert.deepEqual(await one.claimDue(T0 + 59_999, 30, T0 + 120_000), [], 'the lease holds');
    assert.equal((await two.claimDue(T0 + 60_000, 50, T0 + 120_000)).length, 40, 'an unfinished claim is taken over when its lease ends');
    assert.equal(a[0]!.message?.to.endsWith('@example.com'), true);
  });
});
