// What the hosted pages answer and take, for the OpenAPI document: every answer is text/html (a page, or a
// page that shows the error), every successful POST is 303 (so a reload never posts again), and every form
// carries the CSRF field. The pages read their fields themselves (formField), so these are documented only.
import type { FastifySchema } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { pageSchema } from '../plugins/openapi.ts';
import { htmlPage, pageAnswers, redirection } from '../responses.ts';
import { EmailField, NameField, NewPasswordField } from '../schemas.ts';
import { CSRF_FIELD } from './layout.ts';

export const Page = htmlPage('The page');
export const SeeOther = redirection('See Other: the next page (a flash message travels in a short-lived cookie)');

const text = (description: string, maxLength = 4096) => Type.String({ maxLength, description });

/** A form: its fields (all text) and the CSRF token every page form carries. */
export function form(fields: Record<string, TSchema>, optional: string[] = []): TSchema {
  const properties: Record<string, TSchema> = { [CSRF_FIELD]: text('The CSRF token the page put in the form', 200) };
  for (const [name, schema] of Object.entries(fields)) properties[name] = optional.includes(name) ? Type.Optional(schema) : schema;
  return Type.Object(properties);
}

export const formFields = {
  email: EmailField,
  password: text('The password', 4096),
  newPassword: NewPasswordField,
  name: NameField,
  token: text('The token from the e-mailed link', 200),
  id: text('The id of the row the button belongs to', 64),
  redirectTo: text('Where to go after signing in: /account, /admin or an OAUTH_REDIRECT_ALLOWLIST entry', 2048),
  code: text('The 6-digit code from the authenticator app', 64),
  recoveryCode: text('One of the recovery codes, e.g. k3m9x-7qpd2', 64),
  mfaTicket: text('The ticket of the sign-in waiting for its second factor', 200),
  text,
};

/** A page that shows (GET): 200, or 303 elsewhere; `statuses` are its error pages. */
export function shows(statuses: number[], query?: Record<string, TSchema>, redirects = false): FastifySchema {
  const queryObject = query ? Type.Object(Object.fromEntries(Object.entries(query).map(([name, schema]) => [name, Type.Optional(schema)]))) : undefined;
  const answers: Record<number, TSchema> = redirects ? { 200: Page, 303: SeeOther } : { 200: Page };
  return pageSchema(pageAnswers(answers, ...statuses), { query: queryObject });
}

/**
 * A form's POST: 303 when done; the form again, or an error page, with the status of what was refused.
 * `shows`: it may also answer 200 with the next step's page (the second factor after a password, say).
 */
export function posts(formSchema: TSchema, statuses: number[], shows = false): FastifySchema {
  return pageSchema(pageAnswers(shows ? { 200: Page, 303: SeeOther } : { 303: SeeOther }, ...statuses), { form: formSchema });
}
