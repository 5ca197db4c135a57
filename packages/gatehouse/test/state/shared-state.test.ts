// One suite for the SharedState interface, run against the in-memory state and a real Redis.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MemoryState } from '../../src/state/memory.ts';
import { RedisState } from '../../src/state/redis.ts';
import type { SharedState } from '../../src/state/state.ts';
import { REDIS_URL, redisPrefix, skipUnlessRedis } from '../helpers/backends.ts';

interface Backend {
  state: SharedState;
  /** Lets `ms` pass: the fake clock for memory, a real (short, bounded) wait for Redis. */
  pass(ms: number): Promise<void>;
}

function suite(name: string, skip: false | string, open: () => Backend) {
  describe(`SharedState on ${name}`, { skip }, () => {
    const opened: SharedState[] = [];
    const backend = () => {
      const b = open();
      opened.push(b.state);
      return b;
    };
    after(async () => {
      for (const s of opened) await s.close();
    });

    it('counts hits in a fixed window and starts a new one after it', async () => {
      const { state, pass } = backend();
      const first = await state.hit('k', 200);
      assert.equal(first.count, 1);
      assert.ok(first.resetInMs > 0 && first.resetInMs <= 200);
      assert.equal((await state.hit('k', 200)).count, 2);
      assert.equal((await state.peek('k'))!.count, 2, 'peek reads');
      assert.equal((await state.peek('k'))!.count, 2, 'peek does not add');
      await pass(260);
      assert.equal(await state.peek('k'), null);
      assert.equal((await state.hit('k', 200)).count, 1);
    });

    it('stores values with a time to live; take hands a value out once', async () => {
      const { state, pass } = backend();
      await state.put('v', 'one', 200);
      assert.equal(await state.get('v'), 'one');
      assert.equal(await state.take('v'), 'one');
      assert.equal(await state.take('v'), null);
      assert.equal(await state.get('v'), null);
      await state.put('w', 'two', 150);
      await state.put('x', 'three', 10_000);
      await pass(220);
      assert.equal(await state.get('w'), null, 'expired');
      assert.equal(await state.get('x'), 'three');
      await state.delete('x');
      assert.equal(await state.get('x'), null);
      await state.ping();
    });

    it('gives a value to exactly one of 20 concurrent takers', async () => {
      const { state } = backend();
      await state.put('code', 'secret-grant', 10_000);
      const results = await Promise.all(Array.from({ length: 20 }, () => state.take('code')));
      assert.equal(results.filter((r) => r === 'secret-grant').length, 1);
    });

    it('counts 50 concurrent hits exactly', async () => {
      const { state } = backend();
      const counts = await Promise.all(Array.from({ length: 50 }, () => state.hit('burst', 10_000)));
      assert.deepEqual(counts.map((c) => c.count).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
    });
  });
}

let clock = Date.UTC(2026, 0, 1);
suite('memory', false, () => ({
  state: new MemoryState(() => clock),
  pass: async (ms) => {
    clock += ms;
  },
}));

const redisSkip = await skipUnlessRedis();
suite('Redis', redisSkip, () => ({
  state: new RedisState(REDIS_URL, redisPrefix()),
  pass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}));

describe('RedisState when Redis is unreachable', () => {
  it('fails fast instead of hanging', async () => {
    const state = new RedisState('redis://127.0.0.1:1', redisPrefix());
    try {
      const started = Date.now();
      await assert.rejects(state.get('x'));
      await assert.rejects(state.hit('x', 1000));
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      await state.close();
    }
  });
});
