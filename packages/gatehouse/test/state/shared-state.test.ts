// One suite for the SharedState interface, run against the in-memory state, a real Redis and a real PostgreSQL.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrations.ts';
import { LocalCounterFallback } from '../../src/state/fallback.ts';
import { MemoryState } from '../../src/state/memory.ts';
import { PostgresState } from '../../src/state/postgres.ts';
import { RedisState } from '../../src/state/redis.ts';
import type { SharedState } from '../../src/state/state.ts';
import { REDIS_URL, createTestDatabase, redisPrefix, skipUnlessPostgres, skipUnlessRedis } from '../helpers/backends.ts';

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

const postgresSkip = await skipUnlessPostgres();
const postgres = postgresSkip ? null : await createTestDatabase();
const postgresHandle = postgres ? openDatabase({ databaseUrl: postgres.url, dataDir: '' }) : null;
if (postgresHandle) await migrateToLatest(postgresHandle.db);
let pgClock = Date.UTC(2026, 0, 1);
let pgPrefix = 0;
suite('PostgreSQL', postgresSkip, () => ({
  // A prefix per backend keeps the suite's keys apart, as separate Redis prefixes do.
  state: new PostgresState(postgresHandle!.db, () => pgClock, `t${++pgPrefix}:`),
  pass: async (ms) => {
    pgClock += ms;
  },
}));
after(async () => {
  await postgresHandle?.close();
  await postgres?.drop();
});

describe('PostgresState', { skip: postgresSkip }, () => {
  it('is one state for every instance on the database, and sweeps expired rows', async () => {
    let now = Date.UTC(2026, 0, 1);
    const a = new PostgresState(postgresHandle!.db, () => now, 'shared:');
    const b = new PostgresState(postgresHandle!.db, () => now, 'shared:');
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).hit('ip:1', 60_000)));
    assert.equal((await a.peek('ip:1'))!.count, 10, 'hits on both instances land on one counter');
    await a.put('rev:s1', '1', 1000);
    assert.equal(await b.get('rev:s1'), '1', 'a revocation written by one is read by the other');
    await b.put('code', 'grant', 1000);
    const taken = await Promise.all([a.take('code'), b.take('code'), a.take('code'), b.take('code')]);
    assert.equal(taken.filter((v) => v === 'grant').length, 1);
    now += 61_000;
    assert.equal(await b.get('rev:s1'), null);
    assert.ok((await a.sweep()) >= 2, 'expired rows are deleted');
    await a.close();
    await b.close();
  });
});

describe('LocalCounterFallback', () => {
  it('keeps counting locally while the shared store is down, and fails closed for everything else', async () => {
    const warnings: string[] = [];
    const log = { info() {}, warn: (_: object, msg?: string) => void warnings.push(msg ?? ''), error() {} };
    const state = new LocalCounterFallback(new RedisState('redis://127.0.0.1:1', redisPrefix()), log);
    try {
      const counts = [];
      for (let i = 0; i < 5; i++) counts.push((await state.hit('login:ip:1', 60_000)).count);
      assert.deepEqual(counts, [1, 2, 3, 4, 5], 'a limit still counts');
      assert.equal((await state.peek('login:ip:1'))!.count, 5);
      await state.delete('login:ip:1');
      assert.equal(await state.peek('login:ip:1'), null);
      assert.ok(state.usingLocalCounters);
      assert.equal(warnings.length, 1, 'the switch is logged once, not per request');
      await assert.rejects(state.get('rev:s1'), 'a revocation check is never guessed');
      await assert.rejects(state.take('oauth:code'));
      await assert.rejects(state.put('rev:s1', '1', 1000));
    } finally {
      await state.close();
    }
  });

  it('passes through to the shared store while it is up', async () => {
    const shared = new MemoryState();
    const log = { info() {}, warn() {}, error() {} };
    const state = new LocalCounterFallback(shared, log);
    await state.hit('k', 60_000);
    assert.equal((await shared.peek('k'))!.count, 1);
    assert.equal(state.usingLocalCounters, false);
    await state.close();
  });
});

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
