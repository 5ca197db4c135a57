// `gatehouse clients …` as an operator runs it: the secret printed once, stored hashed, rotated, deleted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/db/connect.ts';
import { SqlOidcClientStore } from '../../src/db/oidc-store.ts';
import { sha256 } from '../../src/crypto/random.ts';
import { tempDataDir } from '../helpers/backends.ts';
import { TEST_SECRET } from '../helpers/app.ts';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'gatehouse.js');
let data: ReturnType<typeof tempDataDir>;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATA_DIR: data.dir, GATEHOUSE_SECRET: TEST_SECRET, NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: '', REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('gatehouse clients', () => {
  before(() => {
    data = tempDataDir();
  });
  after(() => data.remove());

  it('create prints the id and the secret once; list shows it without the secret; rotate-secret and delete work', async () => {
    const created = await run(['clients', 'create', '--name', 'Wiki', '--redirect-uri', 'https://wiki.example/cb', '--redirect-uri', 'https://wiki.example/cb2', '--first-party']);
    assert.equal(created.code, 0, created.stderr);
    const clientId = /Client id: (\S+)/.exec(created.stdout)![1]!;
    const secret = /Client secret \(shown once\): (\S+)/.exec(created.stdout)![1]!;
    const handle = openDatabase({ databaseUrl: null, dataDir: data.dir });
    try {
      const stored = await new SqlOidcClientStore(handle.db).find(clientId);
      assert.equal(stored?.secretHash, sha256(secret), 'stored as SHA-256 only');
      assert.deepEqual(stored?.metadata.redirect_uris, ['https://wiki.example/cb', 'https://wiki.example/cb2']);
      assert.equal(stored?.firstParty, true);
    } finally {
      await handle.close();
    }
    const listed = await run(['clients', 'list']);
    assert.match(listed.stdout, new RegExp(`${clientId}\\s+Wiki\\s+confidential first-party`));
    assert.ok(!listed.stdout.includes(secret));
    const rotated = await run(['clients', 'rotate-secret', clientId]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.notEqual(/: (\S+)$/m.exec(rotated.stdout)![1], secret);
    const publicClient = await run(['clients', 'create', '--name', 'SPA', '--redirect-uri', 'http://127.0.0.1:5173/cb', '--public']);
    assert.match(publicClient.stdout, /Public client: no secret/);
    assert.equal((await run(['clients', 'delete', clientId])).code, 0);
    const missing = await run(['clients', 'delete', clientId]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found/);
    // The APIs and API scopes a client may ask for: --resource and --scope, then `clients update`.
    const worker = await run(['clients', 'create', '--name', 'Worker', '--grant', 'client_credentials', '--resource', 'https://orders.example.com', '--scope', 'orders:read', '--scope', 'orders:write']);
    assert.equal(worker.code, 0, worker.stderr);
    const workerId = /Client id: (\S+)/.exec(worker.stdout)![1]!;
    assert.match((await run(['clients', 'list'])).stdout, new RegExp(`${workerId}\\s+Worker.*allows https://orders.example.com scope:orders:read scope:orders:write`));
    const updated = await run(['clients', 'update', workerId, '--resource', 'https://billing.example.com', '--no-scopes']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /Resources: https:\/\/billing.example.com\nScopes: \(none\)/);
    const badScope = await run(['clients', 'update', workerId, '--scope', 'openid']);
    assert.equal(badScope.code, 1);
    assert.match(badScope.stderr, /OpenID scope/);
    const bad = await run(['clients', 'create', '--name', 'Bad', '--redirect-uri', 'http://evil.example/cb']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /https/);
  });
});
