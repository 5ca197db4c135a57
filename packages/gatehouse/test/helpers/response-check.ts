// Every answer a test receives is checked against the app's own OpenAPI document (/openapi.json): its status is
// declared for the operation, its content type is declared for that status, a JSON body validates against the
// declared schema, and the response schema dropped nothing the route meant to send (fast-json-stringify
// silently omits properties a schema does not list). Violations are collected, and TestServer.close() fails
// with them, so every test file enforces the document without a line of its own.
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS } from '../../src/errors.ts';
import type { App } from '../../src/http/types.ts';

// Ajv and its formats as Fastify itself has them (through @fastify/ajv-compiler): no second copy to drift.
const compilerRequire = createRequire(createRequire(createRequire(import.meta.url).resolve('fastify')).resolve('@fastify/ajv-compiler'));
const Ajv2020 = compilerRequire('ajv/dist/2020').default as new (options: object) => AjvInstance;
const addFormats = compilerRequire('ajv-formats').default as (ajv: AjvInstance) => void;

interface AjvInstance {
  addSchema(schema: object, key: string): void;
  compile(schema: object): Validate;
  errorsText(errors: unknown): string;
}
type Validate = ((data: unknown) => boolean) & { errors?: unknown };

interface MediaType {
  schema?: object;
}
interface Response {
  content?: Record<string, MediaType>;
  headers?: Record<string, unknown>;
}
interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
  components: { schemas: Record<string, object> };
}

const DOC_ID = 'openapi.json';
const escapePointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

export function checkResponses(app: App): Set<string> {
  const violations = new Set<string>();
  const rawPayloads = new WeakMap<FastifyRequest, string>();
  let doc: OpenApi | undefined;
  let ajv: AjvInstance | undefined;
  const validators = new Map<string, Validate>();

  function validatorAt(pointer: string): Validate {
    let validate = validators.get(pointer);
    if (!validate) {
      if (!ajv) {
        // OpenAPI 3.1 schemas are JSON Schema 2020-12. The whole document is one schema resource, so a $ref to
        // #/components/... resolves wherever it appears.
        ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
        addFormats(ajv);
        ajv.addSchema(doc!, DOC_ID);
      }
      validate = ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
      validators.set(pointer, validate);
    }
    return validate;
  }

  // What the route handed to the serializer, before a response schema could drop anything.
  app.addHook('preSerialization', async (request, _reply, payload) => {
    try {
      rawPayloads.set(request, JSON.stringify(payload));
    } catch {
      // Not JSON-serialisable: the serializer will say so itself.
    }
    return payload;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    try {
      const problem = check(request, reply, payload);
      if (problem) violations.add(problem);
    } catch (err) {
      violations.add(`${request.method} ${request.routeOptions.url ?? request.url}: the check failed: ${(err as Error).message}`);
    }
    return payload;
  });

  function check(request: FastifyRequest, reply: FastifyReply, payload: unknown): string | null {
    doc ??= app.swagger() as unknown as OpenApi;
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const type = String(reply.getHeader('content-type') ?? '');
    const mediaType = type.split(';')[0]!.trim().toLowerCase();
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    const what = `${request.method} ${route ?? request.url} → ${status} ${mediaType || '(no content type)'}`;

    if (route === undefined) {
      // The not-found handler: a path the document does not list (404) or a listed path with another method
      // (405), or what every request may get before that (400, 413, 415, 429, 503). The document describes
      // these once, in info.description: the ErrorResponse body with the status of its code.
      if (status < 400) return `${what}: an unrouted request that did not fail`;
      if (text === null || mediaType !== 'application/json') return `${what}: not the ErrorResponse body`;
      const problem = validateJson(what, '/components/schemas/ErrorResponse', text, request);
      const code = (JSON.parse(text) as { error?: { code?: keyof typeof ERRORS } }).error?.code;
      return problem ?? (code && ERRORS[code]?.[0] === status ? null : `${what}: the code ${code} does not have status ${status}`);
    }
    // The docs UI's own files and the document itself are not operations of the API; CORS preflights
    // (OPTIONS *) are answered by @fastify/cors for every path.
    if (route.startsWith('/docs') || route === '/openapi.json' || route === '*') return null;
    // oidc-provider's endpoints (OAuth's formats, outside the document by design; see its info.description).
    if (route === '/oauth2/*') return null;

    const path = route.replace(/:(\w+)/g, '{$1}');
    // HEAD is answered by every GET route, as its GET without the body.
    const method = request.method === 'HEAD' ? 'get' : request.method.toLowerCase();
    const operation = doc.paths[path]?.[method];
    if (!operation) return `${what}: the operation is not in the document`;
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => operation.responses[k]);
    if (!key) return `${what}: status ${status} is not declared (declared: ${Object.keys(operation.responses).join(', ')})`;
    const response = operation.responses[key]!;

    if (status >= 300 && status < 400 && status !== 304 && response.headers?.location && reply.getHeader('location') === undefined) {
      return `${what}: a redirect without Location`;
    }
    const bodiless = request.method === 'HEAD' || status === 204 || status === 304 || text === '' || payload === null || payload === undefined;
    if (bodiless) return null;
    if (!response.content) return `${what}: a body where the document declares none`;
    const media = response.content[mediaType] ?? response.content['*/*'];
    if (!media) return `${what}: content type not declared for ${key} (declared: ${Object.keys(response.content).join(', ')})`;
    if (!mediaType.includes('json') || !media.schema || text === null) return null;
    const pointer = ['', 'paths', path, method, 'responses', key, 'content', mediaType, 'schema'].map(escapePointer).join('/');
    return validateJson(what, pointer, text, request);
  }

  function validateJson(what: string, pointer: string, text: string, request: FastifyRequest): string | null {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return `${what}: the body is not JSON`;
    }
    const validate = validatorAt(pointer);
    if (!validate(body)) return `${what}: the body does not match the document: ${ajv!.errorsText(validate.errors)}; body ${text.slice(0, 300)}`;
    const raw = rawPayloads.get(request);
    if (raw !== undefined && !isDeepStrictEqual(JSON.parse(raw), body)) {
      return `${what}: the response schema dropped or changed what the route sent: sent ${raw.slice(0, 300)}, answered ${text.slice(0, 300)}`;
    }
    return null;
  }

  return violations;
}
