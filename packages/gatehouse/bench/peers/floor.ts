// The floors of GET /auth/me (issue 19): what any Fastify server that logs like Gatehouse and reads the user
// from Gatehouse's own SQLite file must spend, with no auth, no plugins and no other hook.
//   BENCH_FLOOR=me       Fastify + Gatehouse's logger configuration (src/logger.ts: redaction, the req
//                        serializer, JSON at info, to a file, a random request id) + one prepared read by
//                        primary key (`select * from users where id = ?`, better-sqlite3) + the one
//                        request-completed line app.ts writes. The floor of /auth/me with a Bearer token.
//   BENCH_FLOOR=session  the same, reading the user through the session-cookie lookup's join instead
//                        (sha256 of the cookie, sessions ⋈ users by token hash, the statement session-store.ts
//                        runs). The floor of /auth/me with the session cookie.
// BENCH_DB_FILE is Gatehouse's SQLite file (read while the server runs: WAL allows it), BENCH_USER_ID the user
// of the Bearer floor, BENCH_LOG_FILE where the lines go. Started by bench/compare.ts with fork().
import Fastify, { LogController } from 'fastify';
import SQLite from 'better-sqlite3';
import { pino, destination } from 'pino';
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loggerOptions, requestLineLogger } from '../../src/logger.ts';

const mode = process.env.BENCH_FLOOR ?? 'me';
const file = process.env.BENCH_DB_FILE;
if (!file) throw new Error('BENCH_DB_FILE is required');
const db = new SQLite(file, { readonly: true });
db.pragma('journal_mode = WAL');

const logStream = destination({ dest: process.env.BENCH_LOG_FILE ?? '/dev/null', sync: false, mkdir: true });
const log = pino(loggerOptions('info'), logStream);
const requestLines = requestLineLogger(log);
const app = Fastify({
  loggerInstance: log,
  genReqId: () => randomUUID(),
  logController: new LogController({ disableRequestLogging: true }),
  requestIdHeader: false,
});
// app.ts's one line per request, the same fields, through the same logger (a per-request child logger is made
// by Fastify for each request here too).
app.addHook('onResponse', (request, reply, done) => {
  requestLines.info({ reqId: request.id, req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
  done();
});

type Row = { id: string; email: string; name: string; role: string; email_verified_at: number | null; created_at: number; last_login_at: number | null };
// What /auth/me answers (toPublicUser), from the row.
const publicUser = (row: Row) => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  emailVerified: row.email_verified_at !== null,
  createdAt: new Date(row.created_at).toISOString(),
  lastLoginAt: row.last_login_at === null ? null : new Date(row.last_login_at).toISOString(),
});

if (mode === 'me') {
  const userId = process.env.BENCH_USER_ID;
  if (!userId) throw new Error('BENCH_USER_ID is required');
  const read = db.prepare('select * from users where id = ?');
  app.get('/auth/me', async (_request, reply) => {
    const row = read.get(userId) as Row | undefined;
    if (!row) return reply.status(401).send({ error: 'authentication_required' });
    return { user: publicUser(row) };
  });
} else if (mode === 'session') {
  // session-store.ts's findByTokenHashWithUser, the same statement: every session and user column, prefixed.
  const columns = (alias: string, names: string[]) => names.map((n) => `${alias}.${n} as ${alias}_${n}`).join(', ');
  const read = db.prepare(
    `select ${columns('s', ['id', 'user_id', 'mode', 'token_hash', 'created_at', 'last_used_at', 'expires_at', 'revoked_at', 'revoke_reason', 'user_agent', 'ip', 'amr', 'auth_time'])}, ` +
      `${columns('u', ['id', 'email', 'name', 'role', 'password_hash', 'email_verified_at', 'disabled_at', 'created_at', 'updated_at', 'last_login_at'])} ` +
      'from sessions s left join users u on u.id = s.user_id where s.token_hash = ?',
  );
  const COOKIE = /(?:^|;\s*)(?:__Host-)?gh_session=([^;]+)/;
  app.get('/auth/me', async (request, reply) => {
    const cookie = COOKIE.exec(request.headers.cookie ?? '')?.[1];
    const row = cookie ? (read.get(createHash('sha256').update(cookie).digest('base64url')) as Record<string, unknown> | undefined) : undefined;
    if (!row || row.u_id == null || row.s_revoked_at !== null || (row.s_expires_at as number) <= Date.now()) return reply.status(401).send({ error: 'authentication_required' });
    const user = Object.fromEntries(Object.entries(row).filter(([k]) => k.startsWith('u_')).map(([k, v]) => [k.slice(2), v])) as Row;
    return { user: publicUser(user) };
  });
} else {
  throw new Error(`unknown BENCH_FLOOR ${mode}`);
}

await app.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ port: (app.server.address() as AddressInfo).port });
process.once('SIGTERM', () => void app.close().then(() => { db.close(); logStream.flushSync(); process.exit(0); }));
