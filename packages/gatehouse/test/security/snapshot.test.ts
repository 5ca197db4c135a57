// The before/after digest the attack suites rely on must see the shared state on every backend: a refusal
// that wrote a revocation or a one-time code to Redis or PostgreSQL would otherwise go unnoticed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestServer, type TestServerOptions } from '../helpers/app.ts';
import { skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';
import { addedState, snapshot } from './snapshot.ts';

const backends: Array<[string, TestServerOptions, () => Promise<false | string>]> = [
  ['memory', {}, async () => false],
  ['PostgreSQL', { postgres: true }, skipUnlessPostgres],
  ['PostgreSQL + Redis', { postgres: true, redis: true }, skipUnlessRedis],
];

describe('security snapshot', () => {
  for (const [name, options, skip] of backends) {
    it(`sees shared-state values, and not counters, on ${name}`, async (t) => {
      const reason = await skip();
      if (reason) return t.skip(reason);
      const server = await startTestServer(options);
      try {
        const before = await snapshot(server);
        await server.runtime.ctx.state.hit('login:ip:10.0.0.1', 60_000);
        assert.equal((await snapshot(server)).digest, before.digest, 'a counter is not a change');
        await server.runtime.ctx.state.put('oauth:code:probe', 'planted', 60_000);
        const after = await snapshot(server);
        assert.notEqual(after.digest, before.digest);
        assert.deepEqual(addedState(before, after), ['oauth:code:probe=planted']);
      } finally {
        await server.close();
      }
    });
  }
});
