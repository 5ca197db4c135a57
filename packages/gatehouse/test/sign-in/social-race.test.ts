// Two first sign-ins of one provider account, forced to interleave inside the unit of work on PostgreSQL (where
// transactions really run side by side): whichever step the second one commits between, both end with the same
// single user and neither sees an error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context, Stores } from '../../src/context.ts';
import type { OAuthProviderConfig } from '../../src/methods/social/providers.ts';
import { resolveAccount, type ProviderProfile } from '../../src/methods/social/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { skipUnlessPostgres } from '../helpers/backends.ts';

const provider: OAuthProviderConfig = {
  name: 'acme',
  label: 'Acme',
  kind: 'oidc',
  clientId: 'c',
  clientSecret: 's',
  issuer: 'https://acme.example',
  scopes: 'openid email',
  authorizationUrl: null,
  tokenUrl: null,
  userinfoUrl: null,
  jwksUrl: null,
};

type StoreName = keyof Stores;

/**
 * A context whose first transaction stops right after `store.method` returns, until `release()`; every other
 * transaction runs freely. `paused` resolves once the first one is held there.
 */
function pauseFirstTransactionAfter(ctx: Context, store: StoreName, method: string) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const paused = new Promise<void>((resolve) => (reached = resolve));
  let first = true;
  const transaction: Context['transaction'] = (work) =>
    ctx.transaction((tx) => {
      if (!first) return work(tx);
      first = false;
      const held = Object.create(tx[store]);
      held[method] = async (...args: unknown[]) => {
        const result = await (tx[store] as any)[method](...args);
        reached();
        await gate;
        return result;
      };
      return work({ ...tx, [store]: held });
    });
  return { ctx: { ...ctx, transaction } as Context, paused, release };
}

async function usersWithEmail(server: TestServer, email: string): Promise<number> {
  const rows = await server.runtime.database.db.selectFrom('users').select('id').where('email', '=', email).execute();
  return rows.length;
}

const skip = await skipUnlessPostgres();

describe('first social sign-ins racing in the unit of work', { skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ postgres: true, fakeClock: Date.UTC(2026, 5, 1) });
  });
  after(() => server.close());

  // Each step of the first sign-in after which the second may commit.
  const interleavings: Array<[StoreName, string, string]> = [
    ['identities', 'find', 'after the first found no identity'],
    ['users', 'findByEmail', 'after the first found no account by e-mail'],
  ];

  for (const [store, method, when] of interleavings) {
    it(`the second commits ${when}: one user, no error`, async () => {
      const email = `race-${store}-${Date.now()}@example.com`;
      const profile: ProviderProfile = { subject: `sub-${store}`, email, emailVerified: true, name: 'Racer' };
      const slow = pauseFirstTransactionAfter(server.runtime.ctx, store, method);
      const first = resolveAccount(slow.ctx, provider, profile);
      await slow.paused;
      const second = await resolveAccount(server.runtime.ctx, provider, profile);
      slow.release();
      const firstResult = await first;
      assert.ok('user' in second, `second: ${'error' in second ? second.error.message : ''}`);
      assert.ok('user' in firstResult, `first: ${'error' in firstResult ? firstResult.error.message : ''}`);
      assert.equal(firstResult.user.id, second.user.id);
      assert.equal(await usersWithEmail(server, email), 1);
      const identities = await server.runtime.ctx.identities.listByUser(second.user.id);
      assert.deepEqual(identities.map((i) => `${i.provider}:${i.subject}`), [`acme:sub-${store}`]);
    });
  }
});
