// AuditStore contract (append-only security events), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { beforeEach, it } from 'node:test';
import type { AuditEvent, AuditQuery } from '../../src/audit/store.ts';
import { uuidv7 } from '../../src/crypto/random.ts';
import { describeEachBackend } from './backends.ts';
import { anAuditEvent, T0 } from './fixtures.ts';

describeEachBackend('AuditStore', (backend) => {
  beforeEach(() => backend().truncate('audit_events'));

  const append = async (events: AuditEvent[]) => {
    for (const e of events) await backend().stores.audit.append(e);
  };

  it('append stores the event and list reads it back whole, detail included', async () => {
    const userId = uuidv7(T0);
    const full = anAuditEvent('role_changed', { at: T0 + 1, userId, sessionId: uuidv7(T0), detail: { from: 'user', to: 'admin', count: 2, forced: false, note: null } });
    const bare = anAuditEvent('login_failed', { at: T0 + 2, ip: null, userAgent: null, detail: null });
    await append([full, bare]);
    assert.deepEqual(await backend().stores.audit.list({ limit: 10 }), [bare, full]);
  });

  it('list is newest first, filters by user and type, and stops at the limit', async () => {
    const ada = uuidv7(T0);
    const bob = uuidv7(T0);
    const events = [
      anAuditEvent('login_ok', { at: T0 + 1, userId: ada }),
      anAuditEvent('login_failed', { at: T0 + 2, userId: ada }),
      anAuditEvent('login_ok', { at: T0 + 3, userId: bob }),
      anAuditEvent('logout', { at: T0 + 4, userId: ada }),
      anAuditEvent('login_ok', { at: T0 + 5, userId: ada }),
    ];
    await append(events);
    const ids = async (query: AuditQuery) => (await backend().stores.audit.list(query)).map((e) => e.id);
    const [e1, e2, e3, e4, e5] = events.map((e) => e.id);
    assert.deepEqual(await ids({ limit: 10 }), [e5, e4, e3, e2, e1]);
    assert.deepEqual(await ids({ limit: 2 }), [e5, e4]);
    assert.deepEqual(await ids({ limit: 10, userId: ada }), [e5, e4, e2, e1]);
    assert.deepEqual(await ids({ limit: 10, type: 'login_ok' }), [e5, e3, e1]);
    assert.deepEqual(await ids({ limit: 10, userId: ada, type: 'login_ok' }), [e5, e1]);
    assert.deepEqual(await ids({ limit: 10, userId: uuidv7(T0) }), []);
  });

  it('beforeId pages through the events without gaps or repeats, filters kept', async () => {
    const userId = uuidv7(T0);
    const events = Array.from({ length: 7 }, (_, i) => anAuditEvent(i % 3 === 0 ? 'logout' : 'login_ok', { at: T0 + i, userId }));
    await append(events);
    const seen: string[] = [];
    let beforeId: string | undefined;
    for (;;) {
      const page = await backend().stores.audit.list({ userId, type: 'login_ok', limit: 2, beforeId });
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.id));
      beforeId = page.at(-1)!.id;
    }
    const expected = events.filter((e) => e.type === 'login_ok').map((e) => e.id).reverse();
    assert.deepEqual(seen, expected);
  });

  it('deleteBefore deletes events older than the instant and says how many', async () => {
    const events = [T0, T0 + 1, T0 + 2, T0 + 3].map((at) => anAuditEvent('login_ok', { at }));
    await append(events);
    assert.equal(await backend().stores.audit.deleteBefore(T0 + 2), 2);
    assert.deepEqual((await backend().stores.audit.list({ limit: 10 })).map((e) => e.at), [T0 + 3, T0 + 2], 'the event at the instant stays');
    assert.equal(await backend().stores.audit.deleteBefore(T0 + 2), 0);
  });
});
