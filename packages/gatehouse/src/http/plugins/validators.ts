// Two validators, one per kind of input. A query string or a path parameter is text by nature, so `?limit=10`
// may become the number its schema asks for. A JSON body already carries its types: an array or a boolean
// where a string is expected is the client's mistake (400 validation_failed), never coerced (CONTRACT, Limits).
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

const AJV_OPTIONS = { removeAdditional: false, allErrors: true, useDefaults: true } as const;

type Compile = (route: { schema: unknown; method: string; url: string; httpPart?: string }) => unknown;
type BuildValidator = (externalSchemas: unknown, options: { customOptions?: Record<string, unknown> }) => Compile;

// Fastify's own default compiler (Ajv with ajv-formats and its pooling), resolved from Fastify's dependencies
// so that both validators behave exactly as the default one but for coercion.
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));
const AjvCompiler = fastifyRequire('@fastify/ajv-compiler') as () => BuildValidator;

export const ajvOptions: FastifyServerOptions['ajv'] = { customOptions: { ...AJV_OPTIONS, coerceTypes: 'array' } };

export const schemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    buildValidator(externalSchemas: unknown, options: { customOptions?: Record<string, unknown> }) {
      const build = AjvCompiler();
      const coercing = build(externalSchemas, options);
      const typed = build(externalSchemas, { ...options, customOptions: { ...options.customOptions, coerceTypes: false } });
      return (route: Parameters<Compile>[0]) => (route.httpPart === 'body' ? typed(route) : coercing(route));
    },
  } as NonNullable<FastifyServerOptions['schemaController']>['compilersFactory'],
};
