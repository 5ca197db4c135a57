// The one error handler: every failure leaves as the contract's body, and nothing internal leaks.
import type { FastifyError } from 'fastify';
import { createRequire } from 'node:module';
import { AppError, errorBody, validationError, type ErrorCode, type FieldError } from '../../errors.ts';
import type { App } from '../types.ts';

// Fastify's own error codes for what a client can get wrong.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_BAD_URL: 'validation_failed',
  FST_ERR_ASYNC_CONSTRAINT: 'not_found',
};

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'authentication_required',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

interface AjvIssue {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * One detail per field, named as the client wrote it (a property it sent, or one it must send). With
 * allErrors a union reports each branch and then "must match a schema in anyOf": the branches of a union of
 * constants become one "must be one of …", and the anyOf summary is kept only when nothing better is known.
 */
function fieldErrors(issues: AjvIssue[], context: string | undefined): FieldError[] {
  const byField = new Map<string, { messages: string[]; allowed: unknown[]; summary?: string }>();
  for (const issue of issues) {
    const path = (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const named = issue.params?.missingProperty ?? issue.params?.additionalProperty;
    const field = typeof named === 'string' ? (path ? `${path}.${named}` : named) : path || context || 'body';
    const entry = byField.get(field) ?? { messages: [], allowed: [] };
    byField.set(field, entry);
    if (issue.keyword === 'anyOf' || issue.keyword === 'oneOf') entry.summary ??= issue.message;
    else if (issue.keyword === 'const') entry.allowed.push(issue.params?.allowedValue);
    else if (issue.keyword === 'additionalProperties') entry.messages.push('is not allowed');
    else entry.messages.push(issue.message ?? 'is invalid');
  }
  return [...byField].map(([field, { messages, allowed, summary }]) => ({
    field,
    message: allowed.length > 1 ? `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : (messages[0] ?? (allowed.length ? `must be ${JSON.stringify(allowed[0])}` : summary ?? 'is invalid')),
  }));
}

// A database or Redis that cannot be reached is our outage, not the client's fault: 503, not 500.
function isUnavailable(err: Error): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  return (
    ['STATE_UNAVAILABLE', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'SQLITE_BUSY', '57P01', '57P02', '57P03', '53300'].includes(code) ||
    code.startsWith('08') ||
    /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection is closed|Command timed out|Stream isn't writeable|max retries per request/i.test(err.message)
  );
}

// PostgreSQL refuses U+0000 in text (22021, and 22P05 inside JSON) where SQLite stores it: the client sent a
// character no column can hold, so it is a 400 like any other bad input, not a 500.
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

export function toAppError(err: FastifyError | AppError | Error): AppError {
  if (err instanceof AppError) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError.validation) return validationError(fieldErrors(fastifyError.validation as AjvIssue[], fastifyError.validationContext));
  const byCode = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (byCode) return new AppError(byCode);
  if (err instanceof SyntaxError && fastifyError.statusCode === 400) return new AppError('invalid_json');
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) return new AppError(BY_STATUS[status] ?? 'validation_failed');
  if (UNSTORABLE_TEXT.has(String((err as { code?: unknown }).code))) return new AppError('validation_failed', { message: 'The request contains a character that cannot be stored (U+0000)' });
  if (isUnavailable(err)) return new AppError('service_unavailable', { retryAfter: 5, cause: err });
  return new AppError('internal', { cause: err });
}

export function registerErrorHandler(app: App): void {
  app.setErrorHandler((err, request, reply) => {
    const appError = toAppError(err as FastifyError);
    if (appError.status >= 500) request.log.error({ err: appError.cause ?? err }, 'request failed');
    if (appError.retryAfter !== undefined) reply.header('retry-after', String(appError.retryAfter));
    reply.status(appError.status).send(errorBody(appError));
  });
  const allowedMethods = routeMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    // A path that exists under other methods is 405 with Allow (RFC 9110 §15.5.6), not 404.
    const allowed = allowedMethods(path);
    if (allowed.length && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      return reply.status(405).send(errorBody(new AppError('method_not_allowed', { message: `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}` })));
    }
    return reply.status(404).send(errorBody(new AppError('not_found', { message: `No route ${request.method} ${path}` })));
  });
}

type Router = { on(method: string, path: string, handler: () => void): void; find(method: string, path: string): unknown };
// Fastify's own router (find-my-way), resolved from Fastify's dependencies, so a path matches here exactly as
// it does when routing.
const FindMyWay = createRequire(createRequire(import.meta.url).resolve('fastify'))('find-my-way') as (options?: object) => Router;

/** Records every route as it is added; answers which methods a concrete path has routes for. */
function routeMethods(app: App): (path: string) => string[] {
  const router = FindMyWay();
  const methods = new Set<string>();
  app.addHook('onRoute', (route) => {
    // A catch-all (CORS preflight's `OPTIONS *`) would make every path known.
    if (route.url === '*' || route.url === '/*') return;
    for (const method of [route.method].flat()) {
      methods.add(method);
      try {
        router.on(method, route.url, () => {});
      } catch {
        // Registered twice (an explicit HEAD beside the exposed one): already known.
      }
    }
  });
  return (path) => [...methods].filter((method) => router.find(method, path) !== null).sort();
}
