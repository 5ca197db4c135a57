// npm run bench:verify — requests per second of one protected route on Express and on Fastify:
// without auth, with the seeds' jsonwebtoken middleware (HS256, string secret), and with @gatehouse/verify
// (RS256 from a real Gatehouse; with its verified-token cache, and with the cache off so every request pays
// for the signature). Each server runs in its own process; autocannon runs here. BENCH_DURATION (seconds,
// default 5) and BENCH_CONNECTIONS (default 50) tune it. The eight figures are alternated: BENCH_ROUNDS (default
// 3) rounds each run all eight in turn, and each figure is its median, so the ratios against "no auth" compare
// runs that saw the same machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 3)));
const GUARDS = ['none', 'jsonwebtoken', 'verify', 'verify-nocache'] as const;
type Guard = (typeof GUARDS)[number];

// A real Gatehouse, for a real RS256 token and its JWKS (the server's own test helper, loaded untyped:
// this package depends on nothing from the server).
const { startTestServer } = await import(new URL('../../gatehouse/test/helpers/app.ts', import.meta.url).href);
const gatehouse = await startTestServer({ env: { LOG_LEVEL: 'warn' } });
await gatehouse.app.listen({ port: 0, host: '127.0.0.1' });
const gatehouseUrl = `http://127.0.0.1:${gatehouse.app.server.address().port}`;
const registered = await fetch(`${gatehouseUrl}/auth/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: `bench.${process.pid}@example.com`, password: 'correct horse battery staple' }),
});
const { accessToken } = (await registered.json()) as { accessToken: string };

const jwtSecret = randomBytes(32).toString('base64url');
const seedToken = jwt.sign({ id: 'user-1', email: 'ada@example.com', role: 'user' }, jwtSecret, { expiresIn: '15m' });

async function startTarget(framework: string, guard: Guard): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('target.ts', import.meta.url))], {
    env: { ...process.env, FRAMEWORK: framework, GUARD: guard, ISSUER: gatehouse.config.publicUrl, JWKS_URL: `${gatehouseUrl}/.well-known/jwks.json`, JWT_SECRET: jwtSecret },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(line.toString().trim()), child };
}

async function measure(framework: string, guard: Guard): Promise<number> {
  const { port, child } = await startTarget(framework, guard);
  try {
    const url = `http://127.0.0.1:${port}/protected`;
    const headers: Record<string, string> = guard === 'none' ? {} : { authorization: `Bearer ${guard === 'jsonwebtoken' ? seedToken : accessToken}` };
    // A 401 measured fast is worth nothing: check the route answers 200 first (this also warms the JWKS).
    const probe = await fetch(url, { headers });
    if (probe.status !== 200) throw new Error(`${framework}/${guard} answered ${probe.status}: ${await probe.text()}`);
    await autocannon({ url, headers, connections: CONNECTIONS, duration: 1 });
    const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${framework}/${guard}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return result.requests.average;
  } finally {
    child.kill();
  }
}

const rows: Array<{ framework: string; guard: Guard; rps: number; runs: number[] }> = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const framework of ['express', 'fastify']) {
      for (const guard of GUARDS) {
        const rps = await measure(framework, guard);
        let row = rows.find((r) => r.framework === framework && r.guard === guard);
        if (!row) rows.push((row = { framework, guard, rps: 0, runs: [] }));
        row.runs.push(rps);
        console.error(`round ${round}/${ROUNDS} ${framework.padEnd(8)} ${guard.padEnd(15)} ${Math.round(rps)} req/s`);
      }
    }
  }
  for (const row of rows) row.rps = [...row.runs].sort((a, b) => a - b)[Math.floor((row.runs.length - 1) / 2)]!;
} finally {
  await gatehouse.close();
}

const LABELS: Record<Guard, string> = {
  none: 'no auth',
  jsonwebtoken: "seeds' jsonwebtoken (HS256)",
  verify: '@gatehouse/verify (RS256, cached)',
  'verify-nocache': '@gatehouse/verify (RS256, no cache)',
};
const { loadavg } = await import('node:os');
console.log(`\n@gatehouse/verify benchmark: ${DURATION} s per run, ${CONNECTIONS} connections, median of ${ROUNDS} alternated rounds, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} at the end\n`);
console.log('| framework | guard | req/s (median) | rounds | vs no auth | vs jsonwebtoken |');
console.log('| --- | --- | ---: | --- | ---: | ---: |');
for (const row of rows) {
  const base = rows.find((r) => r.framework === row.framework && r.guard === 'none')!.rps;
  const seed = rows.find((r) => r.framework === row.framework && r.guard === 'jsonwebtoken')!.rps;
  console.log(`| ${row.framework} | ${LABELS[row.guard]} | ${Math.round(row.rps)} | ${row.runs.map((r) => Math.round(r)).join(', ')} | ${(row.rps / base).toFixed(2)} | ${(row.rps / seed).toFixed(2)} |`);
}
