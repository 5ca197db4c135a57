// Small helpers over app.inject() so tests read as the HTTP exchange they check.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/http/types.ts';

export interface CallOptions {
  body?: unknown;
  token?: string;
  cookies?: Record<string, string>;
  headers?: Record<string, string>;
  ip?: string;
}

export async function call(app: App, method: string, url: string, options: CallOptions = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookies) headers.cookie = Object.entries(options.cookies).map(([k, v]) => `${k}=${v}`).join('; ');
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return app.inject({ method: method as any, url, headers, payload, remoteAddress: options.ip ?? '127.0.0.1' });
}

export function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode} ${res.body}`);
  const body = res.json();
  assert.equal(body.error?.code, code, res.body);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(!/\n\s+at /.test(res.body), 'no stack trace in an error body');
}

export function cookiesOf(res: LightMyRequestResponse): Record<string, { value: string; raw: string }> {
  const out: Record<string, { value: string; raw: string }> = {};
  const header = res.headers['set-cookie'];
  for (const raw of Array.isArray(header) ? header : header ? [header] : []) {
    const [pair] = raw.split(';');
    const index = pair!.indexOf('=');
    out[pair!.slice(0, index)] = { value: pair!.slice(index + 1), raw };
  }
  return out;
}

let counter = 0;
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}.${process.pid}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

export async function registerUser(app: App, options: { email?: string; password?: string; name?: string; mode?: string } = {}) {
  const email = options.email ?? uniqueEmail();
  const res = await call(app, 'POST', '/auth/register', {
    body: { email, password: options.password ?? PASSWORD, name: options.name ?? 'Test User', ...(options.mode ? { mode: options.mode } : {}) },
  });
  assert.equal(res.statusCode, 201, res.body);
  return { email, res, body: res.json(), cookies: cookiesOf(res) };
}

export async function login(app: App, email: string, password = PASSWORD, mode?: string) {
  const res = await call(app, 'POST', '/auth/login', { body: { email, password, ...(mode ? { mode } : {}) } });
  assert.equal(res.statusCode, 200, res.body);
  return { res, body: res.json(), cookies: cookiesOf(res) };
}

/** A CSRF token and the cookie it is bound to. */
export async function csrf(app: App): Promise<{ token: string; cookie: string }> {
  const res = await call(app, 'GET', '/auth/csrf');
  assert.equal(res.statusCode, 200);
  return { token: res.json().csrfToken, cookie: cookiesOf(res).gh_csrf!.value };
}
