// JSON logs that never carry a secret: credentials are redacted by path, and URLs lose their query string
// (reset and verification links carry tokens there).
import type { FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';

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
