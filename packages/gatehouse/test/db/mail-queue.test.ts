// MailQueueStore contract (durable outgoing mail), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { beforeEach, it } from 'node:test';
import { SqlMailQueueStore } from '../../src/db/mail-queue-store.ts';
import { MailSealer } from '../../src/mail/seal.ts';
import type { MailMessage } from '../../src/mail/transport.ts';
import { describeEachBackend } from './backends.ts';
import { MINUTE, T0, unique } from './fixtures.ts';

function aMessage(): MailMessage {
  const link = `https://auth.example.com/reset?token=${unique('secret')}`;
  return { to: `${unique('to')}@example.com`, subject: 'Reset your password', text: link, html: `<a href="${link}">reset</a>` };
}

describeEachBackend('MailQueueStore', (backend) => {
  const queue = () => new SqlMailQueueStore(backend().db, backend().dialect, backend().sealer);
  const row = (id: string) => backend().db.selectFrom('mail_queue').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  beforeEach(() => backend().truncate('mail_queue'));

  it('enqueue stores the message sealed and due at once; claimDue opens it and counts the attempt', async () => {
    const message = aMessage();
    const id = await queue().enqueue(message, T0);
    const stored = await row(id);
    assert.equal(stored.message.includes(message.text.split('=')[1]!), false, 'the link is not stored in clear');
    assert.deepEqual(await queue().counts(), { pending: 1, dead: 0 });
    assert.deepEqual(await queue().claimDue(T0 - 1, 10, T0 + MINUTE), [], 'not due before it was queued');
    assert.deepEqual(await queue().claimDue(T0, 10, T0 + MINUTE), [{ id, attempts: 1, createdAt: T0, message }]);
  });

  it('a claimed message is not due again until its lease ends, then is claimed with the next attempt', async () => {
    const message = aMessage();
    const id = await queue().enqueue(message, T0);
    await queue().claimDue(T0, 10, T0 + MINUTE);
    assert.deepEqual(await queue().claimDue(T0 + MINUTE - 1, 10, T0 + 2 * MINUTE), []);
    assert.deepEqual(await queue().claimDue(T0 + MINUTE, 10, T0 + 2 * MINUTE), [{ id, attempts: 2, createdAt: T0, message }]);
    assert.deepEqual(await queue().counts(), { pending: 1, dead: 0 }, 'a claimed message is still pending');
  });

  it('claimDue takes at most `limit` messages, the longest due first', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await queue().enqueue(aMessage(), T0 + i));
    await queue().markFailed(ids[0]!, T0 + 10, 'retry later');
    const first = await queue().claimDue(T0 + 10, 2, T0 + MINUTE);
    assert.deepEqual(first.map((m) => m.id), [ids[1], ids[2]]);
    const rest = await queue().claimDue(T0 + 10, 10, T0 + MINUTE);
    assert.deepEqual(rest.map((m) => m.id).sort(), [ids[3], ids[4], ids[0]].sort());
  });

  it('concurrent workers never claim the same message, and together claim every due one', async () => {
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await queue().enqueue(aMessage(), T0));
    const workers = Array.from({ length: 4 }, () => new SqlMailQueueStore(backend().db, backend().dialect, backend().sealer));
    const claims = await Promise.all(workers.map((w) => w.claimDue(T0, 20, T0 + MINUTE)));
    const claimed = claims.flat().map((m) => m.id);
    assert.equal(new Set(claimed).size, claimed.length, 'no message twice');
    assert.deepEqual(claimed.sort(), [...ids].sort());
    assert.ok(claims.flat().every((m) => m.attempts === 1));
  });

  it('markSent takes the message out of the queue and drops its body', async () => {
    const id = await queue().enqueue(aMessage(), T0);
    await queue().claimDue(T0, 10, T0 + MINUTE);
    await queue().markSent(id, T0 + 5);
    assert.deepEqual(await queue().counts(), { pending: 0, dead: 0 });
    assert.deepEqual(await queue().claimDue(T0 + 10 * MINUTE, 10, T0 + 11 * MINUTE), []);
    const stored = await row(id);
    assert.deepEqual([stored.status, Number(stored.sent_at), stored.message, stored.last_error], ['sent', T0 + 5, '', null]);
  });

  it('markFailed keeps the message pending until the next attempt, with the error cut to 500 characters', async () => {
    const message = aMessage();
    const id = await queue().enqueue(message, T0);
    await queue().claimDue(T0, 10, T0 + MINUTE);
    await queue().markFailed(id, T0 + 5 * MINUTE, `ECONNREFUSED ${'x'.repeat(600)}`);
    assert.deepEqual(await queue().claimDue(T0 + 5 * MINUTE - 1, 10, T0 + 6 * MINUTE), [], 'not before the next attempt');
    assert.deepEqual(await queue().claimDue(T0 + 5 * MINUTE, 10, T0 + 6 * MINUTE), [{ id, attempts: 2, createdAt: T0, message }]);
    const stored = await row(id);
    assert.equal(stored.last_error!.length, 500);
    assert.ok(stored.last_error!.startsWith('ECONNREFUSED'));
  });

  it('markDead gives the message up: never claimed again, counted as dead, body dropped', async () => {
    const id = await queue().enqueue(aMessage(), T0);
    await queue().enqueue(aMessage(), T0);
    await queue().markDead(id, '550 mailbox unavailable');
    assert.deepEqual(await queue().counts(), { pending: 1, dead: 1 });
    assert.ok((await queue().claimDue(T0 + 60 * MINUTE, 10, T0 + 61 * MINUTE)).every((m) => m.id !== id));
    const stored = await row(id);
    assert.deepEqual([stored.status, stored.message, stored.last_error], ['dead', '', '550 mailbox unavailable']);
  });

  it('a message sealed under another secret is claimed with a null message, never a wrong one', async () => {
    const other = new SqlMailQueueStore(backend().db, backend().dialect, new MailSealer('another-secret-0123456789abcdef-xyz'));
    const id = await other.enqueue(aMessage(), T0);
    assert.deepEqual(await queue().claimDue(T0, 10, T0 + MINUTE), [{ id, attempts: 1, createdAt: T0, message: null }]);
  });

  it('enqueue bound to a transaction commits with it, and is gone when it rolls back', async () => {
    const { transaction } = backend();
    const kept = aMessage();
    const keptId = await transaction((tx) => tx.mail.enqueue(kept, T0));
    await assert.rejects(
      transaction(async (tx) => {
        await tx.mail.enqueue(aMessage(), T0);
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    assert.deepEqual(await queue().claimDue(T0, 10, T0 + MINUTE), [{ id: keptId, attempts: 1, createdAt: T0, message: kept }]);
  });
});
