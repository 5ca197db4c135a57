// The answers a route declares besides its success body: the contract's error body by status, 204, redirects
// and HTML pages. Declared on the route's `schema.response`, they are what /openapi.json documents and what the
// test helpers check every answer against (test/helpers/response-check.ts).
import { Type, type TSchema } from 'typebox';
import { ERRORS, type ErrorCode } from '../errors.ts';

/** One string enum (an anyOf of literals would read worse in the document and in generated clients). */
function codeSchema(codes: ErrorCode[]) {
  return Type.Unsafe<ErrorCode>({ type: 'string', enum: codes });
}

const FieldErrorSchema = Type.Object({ field: Type.String(), message: Type.String() });

/** Every error, whatever the route (CONTRACT, Errors). */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: codeSchema(Object.keys(ERRORS) as ErrorCode[]),
      message: Type.String(),
      details: Type.Optional(Type.Array(FieldErrorSchema, { description: 'With validation_failed: one entry per field' })),
    }),
  },
  { title: 'ErrorResponse', description: 'Every error, whatever the route' },
);

/** The codes the contract answers with `status`. */
export function codesOf(status: number): ErrorCode[] {
  return (Object.keys(ERRORS) as ErrorCode[]).filter((code) => ERRORS[code][0] === status);
}

/** The contract's error body for one status: its code is one of that status's codes. */
export function errorResponse(status: number): TSchema {
  const codes = codesOf(status);
  if (codes.length === 0) throw new TypeError(`no error code of the contract has status ${status}`);
  return Type.Object(
    {
      error: Type.Object({
        code: codeSchema(codes),
        message: Type.String(),
        details: Type.Optional(Type.Array(FieldErrorSchema, { description: 'With validation_failed: one entry per field' })),
      }),
    },
    {
      title: 'ErrorResponse',
      description: `${codes.join(', ')}${status === 429 || status === 503 ? ' (with Retry-After)' : ''}`,
      ...(status === 429 || status === 503 ? { headers: { 'retry-after': { type: 'integer', description: 'Seconds to wait before trying again' } } } : {}),
    },
  );
}

/** `errors(401, 403, 404)`: the route's own error statuses (the ones every route has are added for it, see openapi.ts). */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, errorResponse(status)]));
}

/** 204: no body (typed as `undefined`, so a handler ends with `reply.send()`). */
export const NoContent = Type.Unsafe<undefined>({ type: 'null', description: 'No content' });

/** A redirect: no body, the target in Location. */
export function redirection(description: string): TSchema {
  return Type.Unsafe<undefined>({ type: 'null', description, headers: { location: { type: 'string', format: 'uri-reference', description: 'Where to go next' } } });
}

/** An HTML page (the hosted pages answer errors as pages too). */
export function htmlPage(description: string): TSchema {
  return { type: 'string', description, contentMediaType: 'text/html' } as TSchema;
}

/** An HTML error page for one status, with the codes that page may stand for. */
export function htmlError(status: number): TSchema {
  const codes = codesOf(status);
  return htmlPage(`An error page${codes.length ? ` (${codes.join(', ')})` : ''}`);
}

/** The response schema of a hosted page: every status as text/html (204/3xx are bodiless anyway). */
export function pageAnswers(answers: Record<number, TSchema>, ...errorStatuses: number[]): Record<number, TSchema> {
  return { ...answers, ...Object.fromEntries(errorStatuses.map((status) => [status, htmlError(status)])) };
}
