// The rule that decides who answers a revocation check when Gatehouse pushes revocations: the local set while
// subscribed, the fallback while not, and the fallback for tokens older than a subscription that could not
// re-read the whole set. A fake subscription and clock; no backend.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pushedRevocation, type PushedRevocationEvents } from '../src/revocation-feed.ts';
import type { AccessTokenClaims } from '../src/verify-signed-token.ts';

function setup() {
  let events!: PushedRevocationEvents;
  const clock = { now: 1_700_000_000_000 };
  const asked: string[] = [];
  const check = pushedRevocation(
    (e) => {
      events = e;
      return { close: async () => {} };
    },
    {
      isRevoked: async (claims) => {
        asked.push(claims.sid);
        return claims.sid === 'revoked-at-fallback';
      },
      close: async () => {},
    },
    () => clock.now,
  );
  const claims = (sid: string, iatMs = clock.now) => ({ sid, iat: Math.floor(iatMs / 1000) }) as AccessTokenClaims;
  return { check, events, clock, asked, claims };
}

describe('pushed revocations', () => {
  it('asks the fallback until the subscription is up', async () => {
    const { check, asked, claims } = setup();
    assert.equal(check.subscribed, false);
    assert.equal(await check.isRevoked(claims('revoked-at-fallback'), 't'), true);
    assert.deepEqual(asked, ['revoked-at-fallback']);
  });

  it('answers newer tokens from the pushed set, and sends older ones to the fallback when the set was not re-read', async () => {
    const { check, events, clock, asked, claims } = setup();
    const before = clock.now - 60_000;
    events.up(null);
    clock.now += 10_000;
    assert.equal(await check.isRevoked(claims('a'), 't'), false);
    assert.deepEqual(asked, [], 'a token issued after the subscription needs no lookup');
    events.message(JSON.stringify({ v: 1, sid: 'a', until: clock.now + 1000 }));
    assert.equal(await check.isRevoked(claims('a'), 't'), true);
    assert.equal(await check.isRevoked(claims('revoked-at-fallback', before), 't'), true, 'older than the subscription: the fallback decides');
    clock.now += 2000;
    assert.equal(await check.isRevoked(claims('a'), 't'), false, 'forgotten once every token of it has expired');
  });

  it('goes back to the fallback while down, and trusts a re-read set completely', async () => {
    const { check, events, clock, asked, claims } = setup();
    events.up(null);
    events.down();
    clock.now += 10_000;
    await check.isRevoked(claims('b'), 't');
    assert.deepEqual(asked, ['b']);
    events.up(new Map([['c', clock.now + 60_000]]));
    assert.equal(await check.isRevoked(claims('c', clock.now - 600_000), 't'), true, 'revoked while the subscription was down');
    assert.equal(await check.isRevoked(claims('d', clock.now - 600_000), 't'), false);
    assert.deepEqual(asked, ['b']);
  });

  it('ignores payloads that are not revocations', async () => {
    const { check, events, claims } = setup();
    events.up(new Map());
    for (const junk of ['', 'nope', '{"sid":1}', JSON.stringify({ sid: 'e' })]) events.message(junk);
    assert.equal(await check.isRevoked(claims('e'), 't'), false);
  });
});
