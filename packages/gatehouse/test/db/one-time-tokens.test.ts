// OneTimeTokenStore contract (e-mail verification and password reset tokens), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sha256 } from '../../src/crypto/random.ts';
import { describeEachBackend } from './backends.ts';
import { aOneTimeToken, createUser, MINUTE, T0 } from './fixtures.ts';

describeEachBackend('OneTimeTokenStore', (backend) => {
  it('replace stores a token that findUsable returns whole, for its purpose only', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const token = aOneTimeToken(u.id, 'verify_email');
    await stores.oneTimeTokens.replace(token);
    assert.deepEqual(await stores.oneTimeTokens.findUsable(token.hash, 'verify_email', T0 + 1), token);
    assert.deepEqual(await stores.oneTimeTokens.findUsable(token.hash, 'verify_email', T0 + 1), token, 'reading does not use it');
    assert.equal(await stores.oneTimeTokens.findUsable(token.hash, 'reset_password', T0 + 1), null, 'a verify token is no reset token');
    assert.equal(await stores.oneTimeTokens.findUsable(sha256('none'), 'verify_email', T0 + 1), null);
  });

  it('replace retires the older unused tokens of the same user and purpose, and no others', async () => {
    const { stores, db } = backend();
    const u = await createUser(stores);
    const other = await createUser(stores);
    const first = aOneTimeToken(u.id, 'reset_password', { createdAt: T0 });
    const second = aOneTimeToken(u.id, 'reset_password', { createdAt: T0 + MINUTE });
    const verify = aOneTimeToken(u.id, 'verify_email');
    const theirs = aOneTimeToken(other.id, 'reset_password');
    for (const t of [first, verify, theirs]) await stores.oneTimeTokens.replace(t);
    await stores.oneTimeTokens.replace(second);
    assert.equal(await stores.oneTimeTokens.findUsable(first.hash, 'reset_password', T0 + MINUTE), null, 'the older link stops working');
    assert.equal(await stores.oneTimeTokens.consume(first.hash, 'reset_password', T0 + MINUTE), false);
    const retired = await db.selectFrom('one_time_tokens').select('used_at').where('hash', '=', first.hash).executeTakeFirstOrThrow();
    assert.equal(Number(retired.used_at), T0 + MINUTE, 'retired at the new token\'s creation');
    assert.deepEqual(await stores.oneTimeTokens.findUsable(second.hash, 'reset_password', T0 + MINUTE), second);
    assert.deepEqual(await stores.oneTimeTokens.findUsable(verify.hash, 'verify_email', T0 + MINUTE), verify, 'another purpose stays');
    assert.deepEqual(await stores.oneTimeTokens.findUsable(theirs.hash, 'reset_password', T0 + MINUTE), theirs, 'another user\'s stays');
  });

  it('keeps the address a token is about, add keeps older tokens working, and retire uses up one purpose only', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const change = { ...aOneTimeToken(u.id, 'email_change'), email: 'new@example.com' };
    const revert = { ...aOneTimeToken(u.id, 'email_change_revert', { createdAt: T0 }), email: 'old@example.com' };
    const laterRevert = { ...aOneTimeToken(u.id, 'email_change_revert', { createdAt: T0 + MINUTE }), email: 'new@example.com' };
    await stores.oneTimeTokens.replace(change);
    await stores.oneTimeTokens.add(revert);
    await stores.oneTimeTokens.add(laterRevert);
    assert.deepEqual(await stores.oneTimeTokens.findUsable(change.hash, 'email_change', T0 + MINUTE), change);
    assert.deepEqual(await stores.oneTimeTokens.findUsable(revert.hash, 'email_change_revert', T0 + MINUTE), revert, 'add leaves the older one usable');
    assert.equal(await stores.oneTimeTokens.retire(u.id, 'email_change', T0 + MINUTE), 1);
    assert.equal(await stores.oneTimeTokens.findUsable(change.hash, 'email_change', T0 + MINUTE), null);
    assert.ok(await stores.oneTimeTokens.findUsable(laterRevert.hash, 'email_change_revert', T0 + MINUTE), 'another purpose stays');
  });

  it('a token is usable until its expiry instant, and not after it is used', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const token = aOneTimeToken(u.id, 'reset_password', { expiresAt: T0 + 30 * MINUTE });
    await stores.oneTimeTokens.replace(token);
    assert.ok(await stores.oneTimeTokens.findUsable(token.hash, 'reset_password', T0 + 30 * MINUTE - 1));
    assert.equal(await stores.oneTimeTokens.findUsable(token.hash, 'reset_password', T0 + 30 * MINUTE), null);
    assert.equal(await stores.oneTimeTokens.consume(token.hash, 'reset_password', T0 + 30 * MINUTE), false, 'an expired token cannot be used');
    assert.equal(await stores.oneTimeTokens.consume(token.hash, 'verify_email', T0 + 1), false, 'nor used for another purpose');
    assert.equal(await stores.oneTimeTokens.consume(token.hash, 'reset_password', T0 + 1), true);
    assert.equal(await stores.oneTimeTokens.findUsable(token.hash, 'reset_password', T0 + 2), null);
    assert.equal(await stores.oneTimeTokens.consume(token.hash, 'reset_password', T0 + 2), false);
    assert.equal(await stores.oneTimeTokens.consume(sha256('none'), 'reset_password', T0 + 2), false);
  });

  it('consume is true for exactly one of 20 concurrent callers, each in its own transaction', async () => {
    const { stores, transaction } = backend();
    const u = await createUser(stores);
    const token = aOneTimeToken(u.id, 'verify_email');
    await stores.oneTimeTokens.replace(token);
    const wins = await Promise.all(Array.from({ length: 20 }, () => transaction((tx) => tx.oneTimeTokens.consume(token.hash, 'verify_email', T0 + 1))));
    assert.equal(wins.filter(Boolean).length, 1);
  });

  it('consume is true for exactly one of 20 concurrent callers outside transactions', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const token = aOneTimeToken(u.id, 'reset_password');
    await stores.oneTimeTokens.replace(token);
    const wins = await Promise.all(Array.from({ length: 20 }, () => stores.oneTimeTokens.consume(token.hash, 'reset_password', T0 + 1)));
    assert.equal(wins.filter(Boolean).length, 1);
  });

  it('replace is one step: a new token whose insert fails leaves the older token usable', async () => {
    const { stores } = backend();
    const u = await createUser(stores);
    const old = aOneTimeToken(u.id, 'reset_password');
    await stores.oneTimeTokens.replace(old);
    // Same hash as the old token: the insert breaks the primary key after the retiring update ran.
    await assert.rejects(stores.oneTimeTokens.replace({ ...old, createdAt: T0 + MINUTE }));
    assert.deepEqual(await stores.oneTimeTokens.findUsable(old.hash, 'reset_password', T0 + MINUTE), old);
  });
});
