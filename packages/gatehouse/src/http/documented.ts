// Constraints the OpenAPI document states but request validation leaves to the domain policy. The policy
// enforces them with better words than a schema validator has ("Password must be at least 8 characters", not
// "must NOT have fewer than 8 characters") and some depend on the configuration (PASSWORD_MIN_LENGTH, ROLES).
// They ride on the schema under a symbol, which Ajv and fast-json-stringify ignore; the document generator
// merges them in (documentedSchema, called from @fastify/swagger's transform).
import type { TSchema } from 'typebox';
import type { Config } from '../config.ts';

const DOCUMENTED = Symbol('gatehouse.documented');

type Keywords = Record<string, unknown>;
export type DocumentedKeywords = Keywords | ((config: Config) => Keywords);

/** `schema` as validated, with `keywords` (or keywords computed from the config) added in the document only. */
export function documented<T extends TSchema>(schema: T, keywords: DocumentedKeywords): T {
  return { ...schema, [DOCUMENTED]: keywords };
}

/** A copy of a route schema for the document: every documented node gets its keywords; nothing is mutated. */
export function documentedSchema<T>(schema: T, config: Config): T {
  if (Array.isArray(schema)) return schema.map((item) => documentedSchema(item, config)) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string | symbol, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = documentedSchema(value, config);
  // TypeBox's own markers (Kind, Optional) stay, so the copy still reads as the TypeBox schema it was.
  for (const symbol of Object.getOwnPropertySymbols(schema)) if (symbol !== DOCUMENTED) copy[symbol] = (schema as Record<symbol, unknown>)[symbol];
  const keywords = (schema as Record<symbol, DocumentedKeywords | undefined>)[DOCUMENTED];
  if (keywords) Object.assign(copy, typeof keywords === 'function' ? keywords(config) : keywords);
  return copy as T;
}
