// buildApp: plugins and routes on one Fastify instance. Tests drive it with inject().
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyReply } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { Context } from './context.ts';
import type { Db } from './db/schema.ts';
import { AppError, errorBody } from './errors.ts';
import { lazyRequestLogger, requestLineLogger } from './logger.ts';
import { createGuards } from './http/plugins/auth.ts';
import { Csrf } from './http/plugins/csrf.ts';
import { registerErrorHandler, toAppError } from './http/plugins/error-handler.ts';
import { registerMetrics } from './http/plugins/metrics.ts';
import { registerOpenApi } from './http/plugins/openapi.ts';
import { createClientErrorHandler, registerHostCheck } from './http/plugins/http-framing.ts';
import { registerIpRateLimit } from './http/plugins/rate-limit.ts';
import { ajvOptions, schemaController } from './http/plugins/validators.ts';
import { apiKeyRoutes } from './http/routes/api-keys.ts';
import { auditRoutes } from './http/routes/audit.ts';
import { accountRoutes } from './http/routes/account.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { authRoutes } from './http/routes/auth.ts';
import { healthRoutes } from './http/routes/health.ts';
import { magicLinkRoutes } from './http/routes/magic-link.ts';
import { mfaRoutes } from './http/routes/mfa.ts';
import { socialRoutes } from './http/routes/social.ts';
import { pageRoutes } from './http/routes/pages.ts';
import { passkeyRoutes } from './http/routes/passkeys.ts';
import { recoveryRoutes } from './http/routes/recovery.ts';
import { wellKnownRoutes } from './http/routes/well-known.ts';
import { mountOidcProvider } from './http/routes/oauth2.ts';
import type { App } from './http/types.ts';

export const BODY_LIMIT = 64 * 1024;

export async function buildApp(ctx: Context, db: Db, log: Logger): Promise<App> {
  const { config } = ctx;
  const https = config.publicUrl.startsWith('https:');
  const securityHeaders = helmetHeaders({
    hsts: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Helmet's default allows inline styles; nothing here needs them (the pages and /docs set their own, stricter).
    contentSecurityPolicy: { directives: { 'style-src': ["'self'"] } },
  });
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: BODY_LIMIT,
    // A hop count is accepted at run time though Fastify's types omit it.
    trustProxy: config.trustProxy as boolean | string[],
    genReqId: () => randomUUID(),
    // request.log is made when a route first logs through it (logger.ts): most requests never do.
    childLoggerFactory: lazyRequestLogger,
    // One line per request (below), not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    // Query strings and path parameters are coerced to their schema's types; JSON bodies are taken as typed.
    ajv: ajvOptions,
    schemaController,
    routerOptions: { maxParamLength: 200 },
    // Slow clients: the whole request must arrive within REQUEST_TIMEOUT, its headers within HEADERS_TIMEOUT
    // (else 408 and the socket closes), and Node checks for late ones often enough for those bounds to hold.
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.ceil(config.headersTimeoutMs / 4)),
      // Host is checked by registerHostCheck, which answers like every other error.
      requireHostHeader: false,
    },
    // What the HTTP parser refuses (431, malformed framing, 408) gets the contract's body and headers too.
    clientErrorHandler: createClientErrorHandler(log, securityHeaders),
    // Errors Fastify raises before routing (a malformed URL, say) get the contract's body too.
    frameworkErrors: (error, _request, reply) => {
      const appError = toAppError(error);
      (reply as FastifyReply).status(appError.status).send(errorBody(appError));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  // Past this many open connections, new ones are closed as they arrive.
  app.server.maxConnections = config.maxConnections;

  app.decorateRequest('auth', null);
  const requestLines = requestLineLogger(log);
  app.addHook('onResponse', (request, reply, done) => {
    // The same fields, in the same order, as request.log would write (its reqId binding first).
    requestLines.info({ reqId: request.id, req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });
  registerErrorHandler(app);

  // JSON only. An empty body is "no body" (a bodiless POST with a JSON content type is common);
  // anything else that does not parse is 400 invalid_json. Prototype-poisoning keys are refused.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    parseJson(request, text, (err, value) => (err ? done(new AppError('invalid_json'), undefined) : done(null, value)));
  });

  // No body is an empty object: required fields are then reported by name, and optional bodies just work.
  // A body that is there is taken as sent: a literal `null` where an object is expected is a 400.
  // A callback hook, not an async one: no promise per request.
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined) request.body = {};
    done();
  });

  await app.register(cookie);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });
  registerHostCheck(app);
  const wildcard = config.corsOrigins.includes('*');
  await app.register(cors, {
    origin: wildcard ? '*' : config.corsOrigins.length ? [...config.corsOrigins] : false,
    credentials: !wildcard,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-CSRF-Token'],
    maxAge: 600,
  });
  registerIpRateLimit(app, ctx);
  await registerOpenApi(app, ctx);
  registerMetrics(app, ctx, db);

  const csrf = new Csrf(ctx);
  const guards = createGuards(ctx, csrf);
  healthRoutes(app, ctx, db);
  wellKnownRoutes(app, ctx);
  authRoutes(app, ctx, guards, csrf);
  accountRoutes(app, ctx, guards);
  adminRoutes(app, ctx, guards);
  recoveryRoutes(app, ctx, guards);
  pageRoutes(app, ctx, csrf);
  socialRoutes(app, ctx, guards);
  apiKeyRoutes(app, ctx, guards);
  mfaRoutes(app, ctx, guards);
  passkeyRoutes(app, ctx, guards);
  magicLinkRoutes(app, ctx);
  auditRoutes(app, ctx, guards);
  if (config.oidcProvider) mountOidcProvider(app, ctx, db, guards, csrf);
  return app;
}

/**
 * Helmet's headers depend only on its options, yet its middleware rebuilds them (the CSP included) on every
 * request: about half of a bare route's time. They are computed once here, by running helmet against a
 * response that records them, and set as they are on every request. Routes that need another policy (the
 * pages, /docs) overwrite the header.
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  return headers;
}
