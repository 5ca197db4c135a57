// The refresh-token reuse grace for clients (oidc/refresh-grace.ts), as Gatehouse's own refresh tokens have it:
// within REFRESH_REUSE_GRACE a just-rotated token returns the same successor again while that successor is
// unused; concurrent refreshes of one token give one successor; after the grace, or once the successor was
// used, a replay is reuse and revokes the grant.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { skipUnlessPostgres } from '../helpers/backends.ts';
import { codeFlow, registerClient, relyingParty, signedInUser, startProvider, type Provider } from './harness.ts';

async function refresh(provider: Provider, client: { clientId: string; secret: string | null }, token: string) {
  const res = await fetch(`${provider.issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function liveRefreshTokens(provider: Provider, grantId: string): Promise<number> {
  const rows = (await provider.server.runtime.database.db
    .selectFrom('oidc_payloads' as never)
    .select(['consumed_at' as never])
    .where('kind' as never, '=', 'RefreshToken' as never)
    .where('grant_id' as never, '=', grantId as never)
    .execute()) as Array<{ consumed_at: number | null }>;
  return rows.filter((r) => r.consumed_at === null).length;
}

async function signIn(provider: Provider) {
  const client = await registerClient(provider, { firstParty: true });
  const rp = await relyingParty(provider, client.clientId, client.secret);
  const { cookie } = await signedInUser(provider);
  const { tokens } = await codeFlow(provider, rp, cookie, { scope: 'openid offline_access', prompt: 'consent' });
  assert.ok(tokens.refresh_token);
  const grants = (await provider.server.runtime.database.db.selectFrom('oidc_payloads' as never).select(['grant_id' as never]).where('kind' as never, '=', 'RefreshToken' as never).where('id' as never, '=', tokens.refresh_token as never).execute()) as Array<{ grant_id: string }>;
  return { client, rp, token: tokens.refresh_token!, grantId: grants[0]!.grant_id };
}

async function twentyAtOnce(provider: Provider) {
  const { client, token, grantId } = await signIn(provider);
  const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(provider, client, token)));
  assert.deepEqual([...new Set(answers.map((a) => a.status))], [200], JSON.stringify(answers.find((a) => a.status !== 200)?.body));
  const successors = new Set(answers.map((a) => a.body.refresh_token as string));
  assert.equal(successors.size, 1, 'one successor');
  assert.equal(await liveRefreshTokens(provider, grantId), 1, 'one live refresh token in the grant');
  const [successor] = [...successors];
  assert.notEqual(successor, token);
  const next = await refresh(provider, client, successor!);
  assert.equal(next.status, 200, JSON.stringify(next.body));
  assert.ok(answers.every((a) => a.body.id_token && a.body.access_token), 'each answer is whole: tokens and an ID token');
}

describe('OpenID provider: refresh-token reuse grace (REFRESH_REUSE_GRACE)', () => {
  let provider: Provider;
  before(async () => {
    provider = await startProvider();
  });
  after(async () => {
    await provider.close();
  });

  it('oidcc-refresh-token, 20 at once: 20 concurrent refreshes of one token all answer the same successor, and only it is live', async () => {
    await twentyAtOnce(provider);
  });

  it('within the grace, the rotated token gives the same successor again while it is unused; once the successor was used, it is reuse and revokes the grant', async () => {
    const { client, token, grantId } = await signIn(provider);
    const first = await refresh(provider, client, token);
    assert.equal(first.status, 200);
    const again = await refresh(provider, client, token);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.refresh_token, first.body.refresh_token, 'the same successor again');
    const next = await refresh(provider, client, first.body.refresh_token);
    assert.equal(next.status, 200);
    const replay = await refresh(provider, client, token);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal((await refresh(provider, client, next.body.refresh_token)).body.error, 'invalid_grant', 'the grant is revoked: its newest token too');
    assert.equal(await liveRefreshTokens(provider, grantId), 0);
  });
});

describe('OpenID provider: after the reuse grace', () => {
  let provider: Provider;
  before(async () => {
    provider = await startProvider({ env: { REFRESH_REUSE_GRACE: '1s' } });
  });
  after(async () => {
    await provider.close();
  });

  it('a rotated token presented after REFRESH_REUSE_GRACE is reuse, even with its successor unused: the grant is revoked', async () => {
    const { client, token } = await signIn(provider);
    const first = await refresh(provider, client, token);
    assert.equal(first.status, 200);
    await sleep(1300);
    const replay = await refresh(provider, client, token);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal((await refresh(provider, client, first.body.refresh_token)).body.error, 'invalid_grant');
  });
});

describe('OpenID provider: refresh-token reuse grace on PostgreSQL', () => {
  let provider: Provider | null = null;
  after(async () => {
    await provider?.close();
  });

  it('20 concurrent refreshes of one token give one successor on PostgreSQL too', async (t) => {
    const skip = await skipUnlessPostgres();
    if (skip) return t.skip(skip);
    provider = await startProvider({ postgres: true });
    await twentyAtOnce(provider);
  });
});
