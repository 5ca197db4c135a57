// What Node's HTTP parser refuses before any route runs (oversized headers, malformed framing, an unknown
// method, a NUL in a header, a request too slow to arrive) and the Host rules of RFC 9112 §3.2: each answered
// with the contract's error body and the security headers, like every other response.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AppError, errorBody, type ErrorCode } from '../../errors.ts';
import type { App } from '../types.ts';

const PARSER_ERRORS: Record<string, { code: ErrorCode; message?: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout' },
  HPE_HEADER_OVERFLOW: { code: 'headers_too_large' },
};
const MALFORMED = { code: 'validation_failed', message: 'The request is not valid HTTP' } as const;

/** The raw response for a request the parser gave up on: status line, headers and body written by hand. */
export function clientErrorResponse(err: NodeJS.ErrnoException, securityHeaders: Record<string, string>): string {
  const { code, message } = (err.code && PARSER_ERRORS[err.code]) || MALFORMED;
  const appError = new AppError(code, { message });
  const body = JSON.stringify(errorBody(appError));
  const headers: Record<string, string> = {
    ...securityHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Fastify's `clientErrorHandler`: answers what can still be answered, then closes the connection. */
export function createClientErrorHandler(log: Logger, securityHeaders: Record<string, string>) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    log.debug({ err: { code: err.code, message: err.message } }, 'client error');
    // A response already under way cannot be replaced by another: only the connection can be ended.
    const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !pending?.headersSent) socket.end(clientErrorResponse(err, securityHeaders), () => socket.destroy());
    else socket.destroy();
  };
}

/**
 * RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host header and to any request with
 * more than one. Node's own check (turned off with `requireHostHeader: false`) answers a bare 400 with none of
 * our headers, and it lets a second Host through (the first one wins).
 */
export function registerHostCheck(app: App): void {
  // A callback hook, not an async one: no promise on every request.
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    let hosts = 0;
    for (let i = 0; i < raw.rawHeaders.length; i += 2) {
      const name = raw.rawHeaders[i]!;
      if (name.length === 4 && name.toLowerCase() === 'host') hosts += 1;
    }
    if (hosts === 1 || (hosts === 0 && raw.httpVersion !== '1.1')) return done();
    // Whoever sent this may read the request differently from a proxy in front: nothing more is read from it.
    reply.header('connection', 'close');
    done(new AppError('validation_failed', { message: hosts ? 'The request has more than one Host header' : 'The request has no Host header' }));
  });
}
