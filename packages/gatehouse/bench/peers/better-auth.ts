// Better Auth (the peer): email + password on SQLite through better-sqlite3, its own migrations, its rate
// limit off, served by node:http through its Node handler. Started by bench/compare.ts with fork(); sends
// { port } over IPC once listening and stops on SIGTERM.
//   BENCH_BA_FILE   the SQLite file (created; its tables come from Better Auth's migration API)
import Database from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const file = process.env.BENCH_BA_FILE;
if (!file) throw new Error('BENCH_BA_FILE is required');

const sqlite = new Database(file);
// The same durability trade-off Gatehouse makes on SQLite.
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

const options = {
  database: sqlite,
  baseURL: `http://127.0.0.1:${port}`,
  secret: 'bench-better-auth-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  emailAndPassword: { enabled: true },
  // The bench logs in thousands of times from one address.
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  logger: { disabled: true },
};
const { runMigrations } = await getMigrations(options);
await runMigrations();
const auth = betterAuth(options);
server.on('request', toNodeHandler(auth));

process.send?.({ port });
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => {
    sqlite.close();
    process.exit(0);
  });
});
