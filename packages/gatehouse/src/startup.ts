// Failures to start, said in terms of the setting to change: a driver's "ECONNREFUSED" or "Invalid URL"
// alone does not tell an operator which variable is wrong or what to do.
import type { Config } from './config.ts';
import { ConfigError } from './config.ts';

type ErrorLike = { code?: unknown; message?: unknown; errors?: unknown[]; path?: unknown; syscall?: unknown };

/** The error's code, looking inside an AggregateError (Node's connect to every address of a host). */
function codeOf(err: unknown): string {
  const e = err as ErrorLike | null;
  if (typeof e?.code === 'string' && e.code) return e.code;
  if (Array.isArray(e?.errors)) for (const inner of e.errors) if (codeOf(inner)) return codeOf(inner);
  return '';
}

function messageOf(err: unknown): string {
  const e = err as ErrorLike | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  return message || (Array.isArray(e?.errors) && e.errors.length ? messageOf(e.errors[0]) : String(err));
}

/** host:port and the database name of a URL, never its password. */
export function describeUrl(raw: string): { where: string; database: string; user: string } {
  try {
    const url = new URL(raw);
    return { where: `${url.hostname}:${url.port || (url.protocol.startsWith('postgres') ? '5432' : url.protocol.startsWith('redis') ? '6379' : '25')}`, database: decodeURIComponent(url.pathname.slice(1)), user: decodeURIComponent(url.username) };
  } catch {
    return { where: '(unparsable URL)', database: '', user: '' };
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);
const FILESYSTEM = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOSPC', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PERM']);

/** Turns a known failure to open the database or DATA_DIR into a ConfigError naming the setting; others pass. */
export function explainStartupFailure(err: unknown, config: Config): unknown {
  if (err instanceof ConfigError) return err;
  const code = codeOf(err);
  const message = messageOf(err);
  if (config.databaseUrl) {
    const { where, database, user } = describeUrl(config.databaseUrl);
    if (UNREACHABLE.has(code) || /timeout exceeded when trying to connect|Connection terminated/i.test(message)) {
      return new ConfigError('DATABASE_URL', `cannot reach PostgreSQL at ${where} (${code || message}): start PostgreSQL, or correct the host and port in DATABASE_URL`);
    }
    if (code === '3D000') return new ConfigError('DATABASE_URL', `the database "${database}" does not exist at ${where}: create it (createdb ${database}), or correct the database name in DATABASE_URL`);
    if (code === '28P01' || code === '28000') return new ConfigError('DATABASE_URL', `PostgreSQL at ${where} refused the user "${user}" (${message}): correct the user and password in DATABASE_URL`);
    if (code === '42501') return new ConfigError('DATABASE_URL', `the user "${user}" may not create the tables in "${database}" (${message}): grant it CREATE on the schema, or run \`gatehouse migrate\` as the owner`);
  } else if (FILESYSTEM.has(code)) {
    return new ConfigError('DATA_DIR', `cannot create or write ${config.dataDir} (${code}): set DATA_DIR to a writable directory, or give this user write access to it`);
  }
  return err;
}

/** A failure to listen, naming PORT or HOST. */
export function explainListenFailure(err: unknown, config: Config): unknown {
  const code = codeOf(err);
  if (code === 'EADDRINUSE') return new ConfigError('PORT', `port ${config.port} on ${config.host} is already in use: stop the other process or choose another PORT`);
  if (code === 'EACCES') return new ConfigError('PORT', `this user may not listen on port ${config.port}: choose a PORT above 1023`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new ConfigError('HOST', `${config.host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0`);
  return err;
}
