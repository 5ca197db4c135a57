// The sign-in pipeline over the unit of work, with a fake clock: what a sign-in writes, that it writes all of it
// or nothing, what the access policy refuses, and the "last way in" rule.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context } from '../../src/context.ts';
import { unlinkIdentity } from '../../src/methods/social/service.ts';
import { completeSignIn } from '../../src/sign-in/complete-sign-in.ts';
import { createUser } from '../../src/users/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { PASSWORD, uniqueEmail } from '../helpers/http.ts';

const T0 = Date.UTC(2026, 5, 1, 12);
const client = { ip: '192.0.2.7', userAgent: 'domain-test' };

let server: TestServer;
let ctx: Context;
before(async () => {
  server = await startTestServer({ fakeClock: T0 });
  ctx = server.runtime.ctx;
});
after(() => server.close());

async function sessionsOf(userId: string) {
  return server.runtime.database.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).execute();
}

async function eventsOf(userId: string) {
  return (await ctx.audit.list({ userId, limit: 50 })).map((e) => e.type);
}

describe('completeSignIn', () => {
  it('records how and when the user signed in on the session, the token, the user row and the audit log', async () => {
    const user = await createUser(ctx, { email: uniqueEmail('pipe'), password: PASSWORD, emailVerified: true });
    server.clock!.advance(5_000);
    const result = await completeSignIn(ctx, { user, amr: ['pwd'], mode: 'token', client });
    assert.ok(result.kind === 'signed_in');
    const [row] = await sessionsOf(user.id);
    assert.equal(row!.amr, 'pwd');
    assert.equal(Number(row!.auth_time), T0 + 5_000);
    assert.equal(result.issued.session.authTime, T0 + 5_000);
    const claims = await ctx.tokens.verify(result.issued.accessToken!, ctx.now());
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.sid, row!.id);
    assert.equal((await ctx.users.findById(user.id))!.lastLoginAt, T0 + 5_000);
    const [event] = await ctx.audit.list({ userId: user.id, type: 'login_ok', limit: 1 });
    assert.equal(event!.sessionId, row!.id);
    assert.equal(event!.detail?.amr, 'pwd');
    // createUser (the CLI's user create) is audited like a sign-up.
    assert.deepEqual((await eventsOf(user.id)).sort(), ['login_ok', 'register']);
  });

  it('writes all of it or nothing: a failing audit write leaves no session and no new last-login time', async () => {
    const user = await createUser(ctx, { email: uniqueEmail('atomic'), password: PASSWORD, emailVerified: true });
    server.clock!.advance(1_000);
    const failing: Context = {
      ...ctx,
      transaction: (work) =>
        ctx.transaction((tx) =>
          work({
            ...tx,
            audit: { ...tx.audit, append: async () => Promise.reject(new Error('disk full')) },
          }),
        ),
    };
    await assert.rejects(completeSignIn(failing, { user, amr: ['pwd'], mode: 'session', client }), /disk full/);
    assert.equal((await sessionsOf(user.id)).length, 0);
    assert.equal((await ctx.users.findById(user.id))!.lastLoginAt, null);
  });

  it('refuses a disabled account, audits why, and starts nothing', async () => {
    const user = await createUser(ctx, { email: uniqueEmail('off'), password: PASSWORD, emailVerified: true });
    const disabled = (await ctx.users.update(user.id, { disabledAt: ctx.now() }, ctx.now()))!;
    await assert.rejects(completeSignIn(ctx, { user: disabled, amr: ['fed'], mode: 'cookie', client }), { code: 'account_disabled' });
    assert.equal((await sessionsOf(user.id)).length, 0);
    const [refused] = await ctx.audit.list({ userId: user.id, type: 'login_failed', limit: 1 });
    assert.equal(refused!.detail?.reason, 'account_disabled');
  });
});

describe('an account keeps at least one way in', () => {
  it('refuses to unlink the only identity of an account without a password, and allows it once there is another', async () => {
    const user = await createUser(ctx, { email: uniqueEmail('ways'), password: null, emailVerified: true });
    await ctx.identities.link({ provider: 'acme', subject: 'a-1', userId: user.id, email: user.email, emailVerified: true, createdAt: ctx.now() });
    await assert.rejects(unlinkIdentity(ctx, user.id, 'acme'), { code: 'conflict' });
    assert.equal((await ctx.identities.listByUser(user.id)).length, 1, 'the refusal changed nothing');
    await ctx.identities.link({ provider: 'other', subject: 'o-1', userId: user.id, email: user.email, emailVerified: true, createdAt: ctx.now() });
    await unlinkIdentity(ctx, user.id, 'acme');
    assert.deepEqual((await ctx.identities.listByUser(user.id)).map((i) => i.provider), ['other']);
    await assert.rejects(unlinkIdentity(ctx, user.id, 'acme'), { code: 'not_found' });
    assert.ok((await eventsOf(user.id)).includes('oauth_unlinked'));
  });

  it('a password counts as a way in', async () => {
    const user = await createUser(ctx, { email: uniqueEmail('pw'), password: PASSWORD, emailVerified: true });
    await ctx.identities.link({ provider: 'acme', subject: 'a-2', userId: user.id, email: user.email, emailVerified: true, createdAt: ctx.now() });
    await unlinkIdentity(ctx, user.id, 'acme');
    assert.equal((await ctx.identities.listByUser(user.id)).length, 0);
  });
});
