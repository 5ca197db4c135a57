// The CLI as an operator runs it: migrate, user create --admin, keys rotate, serve and stop.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { tempDataDir } from './helpers/backends.ts';
import { BIN, freePort, runGatehouse } from './helpers/process.ts';

let data: ReturnType<typeof tempDataDir>;
let env: NodeJS.ProcessEnv;

function run(args: string[], stdin?: string) {
  return runGatehouse(args, env, stdin);
}

before(async () => {
  data = tempDataDir();
  const port = await freePort();
  env = { PATH: process.env.PATH, DATA_DIR: data.dir, PORT: String(port), LOG_LEVEL: 'info', INIT_CWD: data.dir };
});
after(() => data.remove());

describe('gatehouse CLI', () => {
  it('migrates, creates an admin, rotates keys, serves and stops cleanly on SIGTERM', async () => {
    const migrate = await run(['migrate']);
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.match(migrate.stdout, /Applied: 0001_initial/);
    assert.match((await run(['migrate'])).stdout, /up to date/);

    const created = await run(['user', 'create', '--email', 'Root@Example.com', '--admin', '--password-stdin'], 'an admin passphrase 42\n');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Created admin root@example\.com/);
    assert.doesNotMatch(created.stdout, /passphrase/);
    const duplicate = await run(['user', 'create', '--email', 'root@example.com', '--password-stdin'], 'an admin passphrase 42');
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /email_taken/);
    const generated = await run(['user', 'create', '--email', 'second@example.com']);
    assert.match(generated.stdout, /Password \(shown once\): \S{20,}/);

    const rotated = await run(['keys', 'rotate']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /New signing key/);

    const server = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
      server.stdout.on('data', () => {
        if (out.includes('gatehouse ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const base = `http://127.0.0.1:${env.PORT}`;
    const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json();
    assert.equal(jwks.keys.length, 2, 'the rotated-out key stays published');
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'root@example.com', password: 'an admin passphrase 42' }),
    });
    assert.equal(login.status, 200);
    const { accessToken, user } = await login.json();
    assert.equal(user.role, 'admin');
    const users = await fetch(`${base}/admin/users`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(users.status, 200);

    server.kill('SIGTERM');
    const [code] = await once(server, 'exit');
    assert.equal(code, 0);
    assert.ok(!out.includes('an admin passphrase 42'));
  });

  it('prints the usage and exits 2 with no command, and says so for an unknown one, without starting a server', async () => {
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: gatehouse <command>/);
    assert.doesNotMatch(none.stdout, /gatehouse ready/);
    const unknown = await run(['serv']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^Unknown command: serv\n/);
    assert.match(unknown.stderr, /Usage: gatehouse <command>/);
    const unknownSub = await run(['keys', 'rotat']);
    assert.equal(unknownSub.code, 2);
    assert.match(unknownSub.stderr, /Unknown command: keys rotat/);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: gatehouse <command>/);
  });

  it('names the variable when a setting is wrong', async () => {
    const saved = env;
    env = { ...env, NODE_ENV: 'production', PUBLIC_URL: 'https://auth.example.com' };
    try {
      const result = await run(['migrate']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /GATEHOUSE_SECRET/);
    } finally {
      env = saved;
    }
  });
});
