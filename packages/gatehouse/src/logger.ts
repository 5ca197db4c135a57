// JSON logs that never carry a secret: credentials are redacted by path, and URLs lose their query string
// (reset and verification links carry tokens there).
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger, LoggerOptions } from 'pino';

// pino's `*.x` matches one level down only: each secret field is listed at the top level too.
const SECRET_FIELDS = ['password', 'currentPassword', 'newPassword', 'token', 'accessToken', 'refreshToken', 'sessionToken', 'csrfToken', 'key', 'secret'];

export const REDACT_PATHS = [
  ...SECRET_FIELDS,
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.sessionToken',
  '*.csrfToken',
  '*.key',
  '*.secret',
  // `code` is a secret only where a client sends one: an OAuth authorization code or one-time exchange code in
  // a body or query. Elsewhere it is an error code (`err.code`: ECONNREFUSED, service_unavailable) that an
  // operator needs, so no `*.code` wildcard.
  'body.code',
  'query.code',
  'req.body.code',
  'req.query.code',
  'request.body.code',
  'request.query.code',
  '*.oneTimeCode',
  '*.authorizationCode',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req(request: FastifyRequest) {
        return { method: request.method, url: request.url.split('?')[0], remoteAddress: request.ip };
      },
    },
  };
}

/**
 * The logger of the one line written per request (app.ts): `req` through the serializer above (method, the URL
 * without its query string, the address), `res.statusCode`, `responseTime` and `reqId`. None of the redaction
 * paths can match in it, yet pino's redaction walked it on every request: about 10 µs of the 14 µs the line
 * cost (bench/profile.ts, and the same bytes either way). Every other line, the request's own logger
 * included, is still redacted.
 */
export function requestLineLogger(log: Logger): Logger {
  return log.child({}, { redact: [] });
}

type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * `request.log`, made when first used. Fastify gives every request a pino child logger bound to its `reqId`
 * (`childLoggerFactory`); making one serialises and redacts the bindings, about 5 µs of every request, yet
 * requests rarely log through it: their one line is written by app.ts through `requestLineLogger`. This stands in
 * for that child and makes the very same child, `parent.child(bindings, options)`, on the first call that could
 * write a line, so every line written through `request.log` is what it was. A call below the level writes
 * nothing either way and makes nothing.
 */
class LazyRequestLogger {
  #child: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly childBindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private real(): Logger {
    return (this.#child ??= this.parent.child(this.childBindings, this.options));
  }

  private write(level: LevelName, args: unknown[]): void {
    // A route-level log level belongs to the child: make it to ask. Otherwise the child's level is the parent's.
    if (!this.#child && this.options.level === undefined && !this.parent.isLevelEnabled(level)) return;
    (this.real()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.#child ? this.#child.level : (this.options.level ?? this.parent.level);
  }

  set level(level: string) {
    this.real().level = level;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.real().child(bindings, options);
  }

  isLevelEnabled(level: string): boolean {
    return this.real().isLevelEnabled(level);
  }

  bindings(): Bindings {
    return this.real().bindings();
  }

  flush(callback?: (err?: Error) => void): void {
    this.real().flush(callback);
  }
}

/** Fastify's `childLoggerFactory`: `request.log` as a LazyRequestLogger over the server's logger. */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger as Logger, bindings, options) as unknown as FastifyBaseLogger;
}
