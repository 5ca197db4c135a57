// SIGTERM: the server stops accepting, finishes what is in flight, closes its connections and exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDataDir } from './helpers/backends.ts';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'gatehouse.js');

it('finishes every in-flight request after SIGTERM and exits 0', async () => {
  const data = tempDataDir();
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as { port: number }).port;
  probe.close();
  const env = { PATH: process.env.PATH, DATA_DIR: data.dir, PORT: String(port), INIT_CWD: data.dir, RATE_LIMIT_SIGNUP_IP: '1000/1h', RATE_LIMIT_IP: '100000/1m' };
  const server = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    server.stdout.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 20_000);
      server.stdout.on('data', () => out.includes('gatehouse ready') && (clearTimeout(timer), resolve()));
    });
    // Registrations hash a password (tens of ms each), so several are in flight when the signal lands.
    // The signal is sent once every request has been written to its socket: each is truly in flight.
    const sent: Promise<void>[] = [];
    const inFlight = Array.from({ length: 12 }, (_, i) => {
      const body = JSON.stringify({ email: `shutdown${i}@example.com`, password: 'correct horse battery staple' });
      const req = request({ host: '127.0.0.1', port, path: '/auth/register', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
      sent.push(once(req, 'finish').then(() => undefined));
      const status = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
      req.end(body);
      return status;
    });
    await Promise.all(sent);
    server.kill('SIGTERM');
    const statuses = await Promise.all(inFlight);
    assert.deepEqual(statuses, Array(12).fill(201), 'no in-flight request was cut');
    const [code] = await once(server, 'exit');
    assert.equal(code, 0, out.split('\n').filter((l) => /shut|error|long/i.test(l)).join('\n'));
    assert.match(out, /shutting down/);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), 'no longer accepting');
  } finally {
    server.kill('SIGKILL');
    data.remove();
  }
});
