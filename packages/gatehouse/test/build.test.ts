// `npm run build` compiles src/ to dist/, and bin/gatehouse.js runs dist/ under NODE_ENV=production (JSON logs),
// the source through tsx otherwise; LOG_FORMAT=pretty gives people readable lines.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TEST_SECRET } from './helpers/app.ts';
import { tempDataDir } from './helpers/backends.ts';
import { BIN, serveUntilReady } from './helpers/process.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
let data: ReturnType<typeof tempDataDir>;

before(() => {
  data = tempDataDir();
});
after(() => data.remove());

/** Runs `gatehouse serve` until it is ready (then stops it), or exits. */
function serve(env: Record<string, string>) {
  return serveUntilReady({ PATH: process.env.PATH, INIT_CWD: data.dir, DATA_DIR: data.dir, GATEHOUSE_SECRET: TEST_SECRET, PORT: '0', LOG_LEVEL: 'info', ...env }, 60_000);
}

const PRODUCTION = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.example.com', MAIL_OUTBOX: 'true', METRICS: 'off' };

describe('running the server', () => {
  it('builds dist/ and runs it in production, logging JSON lines', async () => {
    // Type errors elsewhere in a work in progress must not stop this check: tsc still writes every file.
    await promisify(execFile)(process.execPath, [path.join(root, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')]).catch(() => {});
    assert.ok(existsSync(path.join(root, 'dist', 'cli.js')), 'npm run build writes dist/cli.js');
    const run = await serve(PRODUCTION);
    assert.ok(run.ready, run.stderr);
    assert.doesNotMatch(run.stderr, /no dist\/ build/, 'dist/ was used, not tsx');
    for (const line of run.stdout.split('\n').filter((l) => l.startsWith('{'))) JSON.parse(line);
    assert.equal(JSON.parse(run.stdout.split('\n').find((l) => l.includes('gatehouse ready'))!).storage, 'sqlite');
  });

  it('writes readable lines with LOG_FORMAT=pretty, and JSON in development when not on a terminal', async () => {
    const pretty = await serve({ LOG_FORMAT: 'pretty' });
    assert.ok(pretty.ready, pretty.stderr);
    const line = pretty.stdout.split('\n').find((l) => l.includes('gatehouse ready'))!;
    assert.ok(!line.trim().startsWith('{'), line);
    assert.match(line, /INFO/);
    const piped = await serve({});
    assert.ok(piped.ready, piped.stderr);
    JSON.parse(piped.stdout.split('\n').find((l) => l.includes('gatehouse ready'))!);
  });
});
