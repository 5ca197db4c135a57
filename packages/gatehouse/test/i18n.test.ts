// The catalogues, the server's English messages in Korean, Accept-Language, and e-mails in the recipient's
// language (issue 18).
//
// Every English message the server can put in an error (AppError's message, a field error's message, the
// contract's default messages, the request checks' AJV messages) has a "server.*" key, so pages can show it
// translated; a new English message without one fails "every message of the server has a server.* key".
// Skipped, because only machines see them (listed in SKIPPED below, checked to still exist):
//   - "${method} is not allowed on ${path}; use …" and "No route ${method} ${path}" (the JSON 405/404 of a
//     route that does not exist; pages have their own not-found page)
//   - "The request is not valid HTTP", "The request has more than one Host header", "The request has no Host
//     header" (answered by the HTTP framing before any page)
//   - "Shutting down" (GET /ready while stopping), "Send the metrics token as a Bearer token" (GET /metrics),
//     'Authorization must be "Bearer <token>"' (an API client's header)
//   - "the queued message cannot be opened with this GATEHOUSE_SECRET" (a mail queue row's error, in the log)
//   - OAuth provider internals: "The sign-in has no PKCE verifier", "The provider sent no id_token",
//     "GitHub refused the profile request (${status})", "GitHub sent no user id"
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES } from '@gatehouse/verify/error-codes';
import en from '../src/i18n/en.json' with { type: 'json' };
import ko from '../src/i18n/ko.json' with { type: 'json' };
import { CATALOGUES, LOCALES, negotiate, translateServerMessage, translator } from '../src/i18n/index.ts';
import { localeHint, mailLocale } from '../src/i18n/mail-locale.ts';
import { outboxDir } from '../src/mail/transport.ts';
import { resetMail, verificationMail } from '../src/recovery/templates.ts';
import { createUser } from '../src/users/service.ts';
import { sameSitePath, switchReturn } from '../src/http/pages/language.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';
import { PASSWORD, call, expectError, login, registerUser, uniqueEmail } from './helpers/http.ts';
import { linkIn, readOutbox, type ReceivedMail } from './helpers/mail.ts';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
const PLURAL_FORM = /\.(zero|one|two|few|many)$/;
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

function sourceFiles(dir = SRC): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (name.endsWith('.ts')) out.push(full);
  }
  return out.sort();
}

// ---- reading message literals out of the source -------------------------------------------------------
// A small scanner, not a parser: after every `message:` (an AppError's options, a field error) and every
// `const message =`, the string and template literals the expression can evaluate to. Comments are blanked
// first; strings, templates (with nested `${…}`) and regular expressions are skipped as wholes.

type Part = string | { expr: string };

function readLiteral(src: string, i: number): { end: number; parts: Part[] } {
  const quote = src[i]!;
  const parts: Part[] = [];
  let text = '';
  let j = i + 1;
  while (j < src.length) {
    const c = src[j]!;
    if (c === '\\') {
      const n = src[j + 1]!;
      text += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      j += 2;
      continue;
    }
    if (c === quote) return { end: j + 1, parts: [...parts, text] };
    if (quote === '`' && c === '$' && src[j + 1] === '{') {
      parts.push(text);
      text = '';
      const close = skipExpression(src, j + 2, '}');
      parts.push({ expr: src.slice(j + 2, close).trim() });
      j = close + 1;
      continue;
    }
    text += c;
    j++;
  }
  throw new Error(`unterminated literal at line ${src.slice(0, i).split('\n').length}`);
}

/** Where a regular expression literal starting at i ends (after its flags). */
function regexEnd(src: string, i: number): number {
  let k = i + 1;
  let inClass = false;
  while (k < src.length && src[k] !== '\n') {
    if (src[k] === '\\') k++;
    else if (src[k] === '[') inClass = true;
    else if (src[k] === ']') inClass = false;
    else if (src[k] === '/' && !inClass) break;
    k++;
  }
  k++;
  while (/[a-z]/.test(src[k] ?? '')) k++;
  return k;
}

/** Whether a slash after `before` starts a regular expression rather than dividing. */
function startsRegex(before: string): boolean {
  const trimmed = before.trimEnd();
  return trimmed === '' || /[(,=:[!&|?{};+\-*%<>~^]$/.test(trimmed) || /\b(?:return|typeof|case|in|of|void|throw)$/.test(trimmed);
}

/** The index of the `closer` that ends an expression starting at i. */
function skipExpression(src: string, i: number, closer: string): number {
  let depth = 0;
  for (let j = i; j < src.length; j++) {
    const c = src[j]!;
    if (c === "'" || c === '"' || c === '`') {
      j = readLiteral(src, j).end - 1;
      continue;
    }
    if (c === '/' && src[j + 1] !== '/' && src[j + 1] !== '*' && startsRegex(src.slice(i, j))) {
      j = regexEnd(src, j) - 1;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      if (depth === 0 && c === closer) return j;
      depth--;
    }
  }
  throw new Error('unterminated expression');
}

function withoutComments(src: string): string {
  let out = '';
  let j = 0;
  while (j < src.length) {
    const c = src[j]!;
    if (c === '/' && src[j + 1] === '/') {
      const end = src.indexOf('\n', j);
      const stop = end === -1 ? src.length : end;
      out += ' '.repeat(stop - j);
      j = stop;
    } else if (c === '/' && src[j + 1] === '*') {
      const stop = src.indexOf('*/', j + 2) + 2;
      out += src.slice(j, stop).replace(/[^\n]/g, ' ');
      j = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      const end = readLiteral(src, j).end;
      out += src.slice(j, end);
      j = end;
    } else if (c === '/' && startsRegex(out)) {
      const end = regexEnd(src, j);
      out += src.slice(j, end);
      j = end;
    } else {
      out += c;
      j++;
    }
  }
  return out;
}

/** The literals an expression can evaluate to: top level and grouping parentheses, not a call's arguments. */
function literalsOf(src: string, start: number): Part[][] {
  const out: Part[][] = [];
  const stack: boolean[] = []; // per open bracket: true when its contents are not the value (a call, an index, an object)
  for (let j = start; j < src.length; j++) {
    const c = src[j]!;
    if (c === "'" || c === '"' || c === '`') {
      const { end, parts } = readLiteral(src, j);
      // A comparison's operand (`reported === 'access_denied' ? … : …`) is not a message.
      const compared = /[=!]==?\s*$/.test(src.slice(Math.max(start, j - 5), j)) || /^\s*[=!]==?/.test(src.slice(end, end + 5));
      const blank = parts.every((p) => typeof p === 'string' && p.trim() === '');
      if (stack.every((opaque) => !opaque) && !compared && !blank) out.push(parts);
      j = end - 1;
    } else if (c === '/' && startsRegex(src.slice(start, j))) {
      j = regexEnd(src, j) - 1;
    } else if (c === '(') {
      stack.push(/[\w$)\]]$/.test(src.slice(start, j).trimEnd()));
    } else if (c === '[' || c === '{') {
      stack.push(true);
    } else if (c === ')' || c === ']' || c === '}') {
      if (stack.length === 0) return out;
      stack.pop();
    } else if ((c === ',' || c === ';') && stack.length === 0) {
      return out;
    }
  }
  return out;
}

interface FoundMessage {
  where: string;
  /** The literal as written, `${…}` kept. */
  template: string;
  /** The literal with every `${…}` replaced by a sample value: what the server could send. */
  sample: string;
  values: string[];
}

function toFound(where: string, parts: Part[]): FoundMessage {
  let template = '';
  let sample = '';
  const values: string[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      template += part;
      sample += part;
    } else {
      const value = `Zq${values.length + 1}x`;
      values.push(value);
      template += '${' + part.expr + '}';
      // JSON.stringify of a string value comes with its quotes.
      sample += part.expr.startsWith('JSON.stringify') ? `"${value}"` : value;
    }
  }
  return { where, template, sample, values };
}

function scanMessages(): FoundMessage[] {
  const found: FoundMessage[] = [];
  for (const file of sourceFiles()) {
    const src = withoutComments(readFileSync(file, 'utf8'));
    for (const m of src.matchAll(/\bmessage\s*:\s*|\b(?:const|let)\s+message\s*=\s*/g)) {
      const where = `${path.relative(SRC, file)}:${src.slice(0, m.index).split('\n').length}`;
      for (const parts of literalsOf(src, m.index! + m[0].length)) found.push(toFound(where, parts));
    }
  }
  return found;
}

/** Messages only machines read (see the comment at the top). */
const SKIPPED = new Set([
  '${request.method} is not allowed on ${path}; use ${allowed.join(\', \')}',
  'No route ${request.method} ${path}',
  'The request is not valid HTTP',
  'The request has more than one Host header',
  'The request has no Host header',
  'Shutting down',
  'Send the metrics token as a Bearer token',
  'Authorization must be "Bearer <token>"',
  'the queued message cannot be opened with this GATEHOUSE_SECRET',
  'The sign-in has no PKCE verifier',
  'The provider sent no id_token',
  'GitHub refused the profile request (${res.status})',
  'GitHub sent no user id',
]);

/**
 * Literals whose `${…}` holds one of a few fixed English tails (sign-in/mfa-challenge.ts's `last`): the
 * messages they make, each of which has its own key.
 */
const EXPANSIONS: Record<string, string[]> = {
  'The code is wrong${last}': ['The code is wrong, and that was the last try: sign in again'],
  'The passkey response is invalid or not for this sign-in${last}': [
    'The passkey response is invalid or not for this sign-in',
    'The passkey response is invalid or not for this sign-in, and that was the last try: sign in again',
  ],
};

/** The server.* key whose pattern translateServerMessage would use for `message` (the first that matches). */
function serverKeyFor(message: string): string | null {
  for (const [key, template] of Object.entries(en as Record<string, string>)) {
    if (!key.startsWith('server.')) continue;
    const source = template
      .split(/(\{\w+\})/)
      .map((part) => (/^\{\w+\}$/.test(part) ? '(.+?)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    if (new RegExp(`^${source}$`, 's').test(message)) return key;
  }
  return null;
}

/** Checks that `message` is translated into Korean, the sample values carried over. */
function assertTranslated(message: string, values: string[], where: string): void {
  const key = serverKeyFor(message);
  assert.ok(key, `${where}: no server.* key reproduces ${JSON.stringify(message)}: add one to en.json and ko.json (scripts/i18n-put.mjs)`);
  const korean = translateServerMessage('ko', message);
  assert.notEqual(korean, message, `${where}: ${key} leaves ${JSON.stringify(message)} in English`);
  for (const value of values) assert.ok(korean.includes(value), `${where}: ${key} loses the value ${value} of ${JSON.stringify(message)}: ${korean}`);
  assert.equal(translateServerMessage('en', message), message);
}

// ---- (a) the catalogues ---------------------------------------------------------------------------------

describe('the catalogues', () => {
  const catalogues = { en: en as Record<string, string>, ko: ko as Record<string, string> };

  it('have the same keys (plural forms aside), each language the plural forms it needs', () => {
    const base = (m: Record<string, string>) => Object.keys(m).filter((k) => !PLURAL_FORM.test(k)).sort();
    assert.deepEqual(base(catalogues.ko), base(catalogues.en));
    for (const key of Object.keys(catalogues.en).filter((k) => k.endsWith('.one'))) {
      assert.ok(`${key.slice(0, -4)}.other` in catalogues.en, `${key} has no .other`);
    }
    assert.deepEqual(Object.keys(catalogues.ko).filter((k) => PLURAL_FORM.test(k)), [], 'Korean has only the "other" form');
    assert.deepEqual(LOCALES, ['en', 'ko']);
    assert.equal(CATALOGUES.ko, ko);
  });

  it('have the same {placeholders} per key and no empty message', () => {
    for (const [key, english] of Object.entries(catalogues.en)) {
      assert.ok(english.trim(), `en ${key} is empty`);
      if (PLURAL_FORM.test(key)) {
        // "{count} hour": a singular form may name fewer values than "other", never others.
        const other = placeholders(catalogues.en[key.replace(PLURAL_FORM, '.other')]!);
        for (const name of placeholders(english)) assert.ok(other.includes(name), `en ${key}: {${name}} is not in its .other form`);
        continue;
      }
      const korean = catalogues.ko[key];
      assert.ok(korean?.trim(), `ko ${key} is empty`);
      assert.deepEqual(placeholders(korean!), placeholders(english), `${key}: the placeholders differ`);
    }
  });

  it('have every key the source uses', () => {
    const missing: string[] = [];
    for (const file of sourceFiles()) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/\bt\(\s*'([\w.-]+)'/g)) if (!(m[1]! in catalogues.en)) missing.push(`${path.relative(SRC, file)}: ${m[1]}`);
      for (const m of src.matchAll(/\bt\.plural\(\s*'([\w.-]+)'/g)) if (!(`${m[1]}.other` in catalogues.en)) missing.push(`${path.relative(SRC, file)}: ${m[1]} (plural)`);
    }
    assert.deepEqual(missing, []);
  });

  it('server.* templates are whole messages: some text besides placeholders, each found by its own pattern', () => {
    for (const [key, template] of Object.entries(catalogues.en)) {
      if (!key.startsWith('server.')) continue;
      assert.ok(template.replace(/\{\w+\}/g, '').trim().length > 2, `${key} is nothing but placeholders: it would match any message`);
      // Filled in, the template is translated by its own key, not by an earlier one that happens to match too.
      const filled = template.replace(/\{(\w+)\}/g, (_, name: string) => `Zq${name}x`);
      assert.equal(serverKeyFor(filled), key, `${key}: another key's pattern takes ${JSON.stringify(filled)} first`);
    }
  });
});

// ---- (b) the server's English messages ------------------------------------------------------------------

describe("the server's English messages in Korean", () => {
  const found = scanMessages();

  it('the scanner finds the messages of the source', () => {
    assert.ok(found.length > 80, `only ${found.length} messages found: is the scanner broken?`);
    const templates = new Set(found.map((f) => f.template));
    for (const known of ['Enter a valid email address', 'Password must be at least ${policy.minLength} characters', 'User not found', 'must be one of ${allowed.map((v) => JSON.stringify(v)).join(\', \')}']) {
      assert.ok(templates.has(known), `the scanner misses ${JSON.stringify(known)}`);
    }
    for (const skipped of SKIPPED) assert.ok(templates.has(skipped), `${JSON.stringify(skipped)} is skipped but no longer in the source: take it off the list`);
    for (const expanded of Object.keys(EXPANSIONS)) assert.ok(templates.has(expanded), `${JSON.stringify(expanded)} is expanded but no longer in the source`);
  });

  it('every message of the server has a server.* key (new English errors need a Korean one)', () => {
    for (const f of found) {
      if (SKIPPED.has(f.template)) continue;
      const expansions = EXPANSIONS[f.template];
      if (expansions) {
        for (const message of expansions) assertTranslated(message, [], f.where);
        continue;
      }
      assertTranslated(f.sample, f.values, f.where);
    }
  });

  it("the contract's default messages, and the part before \"; try again…\" that pages show with a wait", () => {
    for (const [code, [status, message]] of Object.entries(ERROR_CODES)) {
      assertTranslated(message, [], `ERROR_CODES.${code}`);
      // 429 and 503 come with Retry-After: page.tryAgainIn shows "{problem}; try again in {wait}".
      if ((status === 429 || status === 503) && message.includes(';')) assertTranslated(message.replace(/;.*$/, ''), [], `ERROR_CODES.${code} (short)`);
    }
    for (const f of found) {
      if (SKIPPED.has(f.template) || !/; try again/.test(f.sample)) continue;
      assertTranslated(f.sample.replace(/;.*$/, ''), f.values.filter((v) => f.sample.replace(/;.*$/, '').includes(v)), `${f.where} (short)`);
    }
  });

  it("the request checks' messages (AJV's, as the error handler maps them)", () => {
    const ajv = [
      "must have required property 'email'",
      'must NOT have fewer than 8 characters',
      'must NOT have more than 254 characters',
      'must NOT have fewer than 1 items',
      'must NOT have more than 20 items',
      'must NOT have duplicate items (items ## 2 and 1 are identical)',
      'must match format "email"',
      'must match pattern "^[a-z]+$"',
      'must be string',
      'must be integer',
      'must be number',
      'must be boolean',
      'must be object',
      'must be array',
      'must be null',
      'must be >= 1',
      'must be <= 100',
      'must be > 0',
      'must be < 10',
      'must be multiple of 5',
      'must be equal to one of the allowed values',
      'must match a schema in anyOf',
      'must match exactly one schema in oneOf',
      'must be one of "token", "cookie", "session"',
      'must be "token"',
      'is not allowed',
      'is invalid',
    ];
    for (const message of ajv) assertTranslated(message, [], 'ajv');
    assert.equal(translateServerMessage('ko', 'must be one of "token", "cookie"'), '다음 중 하나여야 합니다: "token", "cookie"');
    assert.equal(translateServerMessage('ko', 'Password must be at least 12 characters'), '비밀번호는 12자 이상이어야 합니다');
    assert.equal(translator('ko').server('Something nobody wrote'), 'Something nobody wrote', 'an unknown message stays as it is');
  });
});

// ---- (c) Accept-Language --------------------------------------------------------------------------------

describe('negotiate()', () => {
  it('picks the best of our languages by weight, or null', () => {
    assert.equal(negotiate('ko-KR,ko;q=0.9,en;q=0.8'), 'ko');
    assert.equal(negotiate('en-US'), 'en');
    assert.equal(negotiate('EN-gb'), 'en');
    assert.equal(negotiate('fr'), null);
    assert.equal(negotiate('fr, ko;q=0.5'), 'ko');
    assert.equal(negotiate('en;q=0.4, ko;q=0.6'), 'ko');
    assert.equal(negotiate('ko;q=0'), null);
    assert.equal(negotiate('*'), null);
    assert.equal(negotiate(''), null);
    assert.equal(negotiate(undefined), null);
  });

  it('answers null for garbage and very long headers, without throwing', () => {
    for (const header of [';;;', ',,,', 'q=1', ';q=0.5', 'ko;q=abc;;', '\u0000\u00ff\ud800', '-,-;q=-1', 'x'.repeat(100_000), `${'fr, '.repeat(50_000)}ko`, 'ko'.padStart(10_000, ' ')]) {
      assert.doesNotThrow(() => negotiate(header));
    }
    assert.equal(negotiate('x'.repeat(100_000)), null);
    assert.equal(negotiate(`${'fr, '.repeat(50_000)}ko`), null, 'only the head of a huge header is read');
    assert.equal(negotiate(';;;'), null);
  });

  it('localeHint() reads a header the same way; mailLocale() prefers the user, then the hint, then DEFAULT_LOCALE', () => {
    assert.equal(localeHint('ko-KR,ko;q=0.9'), 'ko');
    assert.equal(localeHint(['fr', 'ko;q=0.3']), 'ko');
    assert.equal(localeHint('fr'), undefined);
    assert.equal(localeHint(undefined), undefined);
    const enServer = { defaultLocale: 'en' as const };
    const koServer = { config: { defaultLocale: 'ko' as const } };
    assert.equal(mailLocale(enServer, null), 'en');
    assert.equal(mailLocale(koServer, null), 'ko');
    assert.equal(mailLocale(enServer, null, 'ko'), 'ko');
    assert.equal(mailLocale(enServer, { locale: null }, 'ko'), 'ko');
    assert.equal(mailLocale(enServer, { locale: 'en' }, 'ko'), 'en', "the user's own choice wins");
    assert.equal(mailLocale(koServer, { locale: 'en' }), 'en');
    assert.equal(mailLocale(enServer, { locale: 'fr' as never }, 'bogus' as never), 'en', 'a value that is not one of ours is passed over');
  });
});

// ---- the templates --------------------------------------------------------------------------------------

describe('the e-mail templates', () => {
  it('write English as before, and Korean with lang="ko"', () => {
    const link = 'https://id.example/reset-password?token=ghk_x';
    const english = resetMail(translator('en'), 'a@example.com', 'Acme', link, 3_600_000);
    assert.equal(english.subject, 'Reset your Acme password');
    assert.equal(
      english.text,
      `Someone asked to reset the password of your Acme account.\n\nThe link works once and expires in 1 hour.\n\n${link}\n\nIf it was not you, ignore this message: your password stays as it is.\n`,
    );
    assert.match(english.html, /<html lang="en">/);
    assert.match(english.html, /Or paste this link into your browser:/);
    const korean = resetMail(translator('ko'), 'a@example.com', 'Acme', link, 3_600_000);
    assert.equal(korean.subject, 'Acme 비밀번호 재설정');
    assert.match(korean.html, /<html lang="ko">/);
    assert.ok(korean.text.includes('1시간') && korean.text.includes(link));
    const verify = verificationMail(translator('en'), 'a@example.com', 'A<b>', link, 24 * 3_600_000);
    assert.equal(verify.subject, 'Confirm your email address for A<b>');
    assert.ok(verify.text.startsWith('Confirm that a@example.com is your email address for A<b>.\n\nThe link works once and expires in 24 hours.'));
    assert.ok(verify.html.includes('A&lt;b&gt;') && !verify.html.includes('A<b>'), 'values are escaped in the HTML part');
  });
});

// ---- (d) e-mails in the recipient's language, through the API -----------------------------------------

describe("e-mails in the recipient's language", () => {
  let server: TestServer;
  const KO = { 'accept-language': 'ko-KR,ko;q=0.9,en;q=0.8' };
  const tKo = translator('ko');
  const brand = () => server.config.brandName;

  before(async () => {
    server = await startTestServer({ env: { MAGIC_LINK_SIGNUP: 'true' } });
  });
  after(() => server.close());

  /** The newest mail to `email` whose subject is `subject`, once the background work (and the mail queue) is done. */
  async function mailTo(email: string, subject: string): Promise<ReceivedMail> {
    for (let attempt = 0; attempt < 50; attempt++) {
      await server.runtime.ctx.background.drain();
      const mails = (await readOutbox(outboxDir(server.config))).filter((m) => m.to === email && m.subject === subject);
      if (mails.length) return mails[mails.length - 1]!;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seen = (await readOutbox(outboxDir(server.config))).filter((m) => m.to === email).map((m) => m.subject);
    throw new Error(`no mail "${subject}" to ${email}; it has: ${JSON.stringify(seen)}`);
  }

  /** The stored preference (the contract's user object has no locale; the export shows it). */
  async function localeOf(userId: string) {
    return (await server.runtime.ctx.users.findById(userId))!.locale;
  }

  async function me(token: string) {
    const res = await call(server.app, 'GET', '/auth/me', { token });
    assert.equal(res.statusCode, 200, res.body);
    const user = res.json().user;
    assert.equal(user.locale, undefined, "the contract's user object is unchanged");
    return { ...user, locale: await localeOf(user.id) };
  }

  it('a Korean user who asks for a reset gets it in Korean, an English user in English', async () => {
    const korean = await registerUser(server.app);
    const patched = await call(server.app, 'PATCH', '/auth/me', { token: korean.body.accessToken, body: { locale: 'ko' } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(await localeOf(korean.body.user.id), 'ko');
    const english = await registerUser(server.app);
    await call(server.app, 'PATCH', '/auth/me', { token: english.body.accessToken, body: { locale: 'en' } });

    // The request's own language does not override the user's choice.
    for (const [user, headers] of [[korean, {}], [english, KO]] as const) {
      const res = await call(server.app, 'POST', '/auth/forgot-password', { body: { email: user.email }, headers });
      assert.equal(res.statusCode, 202, res.body);
    }
    const koMail = await mailTo(korean.email, tKo('mail.reset.subject', { brand: brand() }));
    assert.ok(koMail.text.includes(tKo('mail.reset.intro', { brand: brand() })), koMail.text);
    assert.ok(koMail.text.includes(tKo('mail.reset.ignore')));
    assert.ok(koMail.html.includes('<html lang="ko">'));
    assert.ok(koMail.html.includes('새 비밀번호 설정'), 'the button is in Korean');
    linkIn(koMail, '/reset-password');

    const enMail = await mailTo(english.email, `Reset your ${brand()} password`);
    assert.ok(enMail.text.includes(`Someone asked to reset the password of your ${brand()} account.`), enMail.text);
    assert.ok(enMail.html.includes('<html lang="en">'));
    assert.ok(!/[가-힣]/.test(enMail.text + enMail.html), 'no Korean in the English mail');
  });

  it('without a preference, the language the reset was asked in; without either, DEFAULT_LOCALE (en)', async () => {
    const asked = await registerUser(server.app);
    const silent = await registerUser(server.app);
    assert.equal(await localeOf(asked.body.user.id), null);
    await call(server.app, 'POST', '/auth/forgot-password', { body: { email: asked.email }, headers: KO });
    await call(server.app, 'POST', '/auth/forgot-password', { body: { email: silent.email }, headers: { 'accept-language': 'fr' } });
    await mailTo(asked.email, tKo('mail.reset.subject', { brand: brand() }));
    await mailTo(silent.email, `Reset your ${brand()} password`);
  });

  it('a registration in Korean gets a Korean verification mail and keeps "ko"; PATCH /auth/me switches later mail to English', async () => {
    const email = uniqueEmail('ko');
    const res = await call(server.app, 'POST', '/auth/register', { body: { email, password: 'correct horse battery staple' }, headers: KO });
    assert.equal(res.statusCode, 201, res.body);
    const token = res.json().accessToken as string;
    assert.equal((await me(token)).locale, 'ko');

    const verify = await mailTo(email, tKo('mail.verify.subject', { brand: brand() }));
    assert.ok(verify.text.includes(tKo('mail.verify.intro', { email, brand: brand() })), verify.text);
    assert.ok(verify.text.includes('24시간'), verify.text);
    assert.ok(verify.html.includes('<html lang="ko">') && verify.html.includes('이메일 주소 확인'));
    linkIn(verify, '/verify-email');

    const patched = await call(server.app, 'PATCH', '/auth/me', { token, body: { locale: 'en' } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((await me(token)).locale, 'en');
    // Asked from a Korean browser, but the user chose English.
    const resend = await call(server.app, 'POST', '/auth/verify-email/resend', { token, body: {}, headers: KO });
    assert.equal(resend.statusCode, 202, resend.body);
    const english = await mailTo(email, `Confirm your email address for ${brand()}`);
    assert.ok(english.text.includes(`Confirm that ${email} is your email address for ${brand()}.`), english.text);
  });

  it('a registration without Accept-Language keeps no preference and is mailed in English', async () => {
    const { email, body } = await registerUser(server.app);
    assert.equal(await localeOf(body.user.id), null);
    await mailTo(email, `Confirm your email address for ${brand()}`);
  });

  it('PATCH /auth/me with a language we do not have is 400 validation_failed, its message translatable', async () => {
    const { body } = await registerUser(server.app);
    const res = await call(server.app, 'PATCH', '/auth/me', { token: body.accessToken, body: { locale: 'fr' } });
    expectError(res, 400, 'validation_failed');
    const detail = res.json().error.details?.[0];
    assert.equal(detail?.field, 'locale');
    assert.notEqual(translateServerMessage('ko', detail.message), detail.message, `"${detail.message}" has a Korean form`);
    assert.equal((await me(body.accessToken)).locale, null, 'nothing changed');
  });

  it('PATCH /auth/me with locale null goes back to following the browser', async () => {
    const { body } = await registerUser(server.app);
    assert.equal((await call(server.app, 'PATCH', '/auth/me', { token: body.accessToken, body: { locale: 'ko' } })).statusCode, 200);
    assert.equal((await me(body.accessToken)).locale, 'ko');
    const res = await call(server.app, 'PATCH', '/auth/me', { token: body.accessToken, body: { locale: null } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await me(body.accessToken)).locale, null);
  });

  it('a magic-link sign-up asked in Korean mails in Korean and keeps "ko" for the new account', async () => {
    const email = uniqueEmail('magic-ko');
    const res = await call(server.app, 'POST', '/auth/magic-link', { body: { email }, headers: KO });
    assert.equal(res.statusCode, 202, res.body);
    const mail = await mailTo(email, tKo('mail.magicLink.subject', { brand: brand() }));
    assert.ok(mail.text.includes(tKo('mail.magicLink.newAccount', { brand: brand(), email })), mail.text);
    assert.ok(mail.text.includes(tKo.plural('mail.minutes', server.config.magicLinkTtlMs / 60_000)), mail.text);
    const token = linkIn(mail, '/magic-link').searchParams.get('token')!;
    // Used from a browser in another language: the account keeps the language it was asked for in.
    const signedIn = await call(server.app, 'POST', '/auth/magic-link/verify', { body: { token }, headers: { 'accept-language': 'en' } });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    assert.equal(await localeOf(signedIn.json().user.id), 'ko');
  });

  it("an invitation follows the admin's choice of language, else DEFAULT_LOCALE; the Korean mail's dates are Korean", async () => {
    const adminEmail = uniqueEmail('admin');
    await createUser(server.runtime.ctx, { email: adminEmail, password: PASSWORD, role: 'admin', emailVerified: true });
    const admin = (await login(server.app, adminEmail)).body.accessToken as string;
    const invitedKo = uniqueEmail('invited-ko');
    const invitedPlain = uniqueEmail('invited');
    // The admin's own browser language is not the invitee's.
    const res = await call(server.app, 'POST', '/admin/users', { token: admin, body: { email: invitedKo, locale: 'ko' } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(await localeOf(res.json().user.id), 'ko');
    const plain = await call(server.app, 'POST', '/admin/users', { token: admin, body: { email: invitedPlain }, headers: KO });
    assert.equal(plain.statusCode, 201, plain.body);
    assert.equal(await localeOf(plain.json().user.id), null);
    const koMail = await mailTo(invitedKo, tKo('mail.notice.subject', { subject: tKo('mail.invite.subject', { brand: brand() }), brand: brand() }));
    assert.ok(koMail.text.includes(tKo('mail.invite.choose', { duration: tKo.plural('mail.days', 7) })), koMail.text);
    assert.ok(koMail.text.includes(`${tKo('mail.invite.button')}: `), 'the action line is in Korean');
    await mailTo(invitedPlain, `You are invited to ${brand()} (${brand()})`);
    expectError(await call(server.app, 'POST', '/admin/users', { token: admin, body: { email: uniqueEmail('x'), locale: 'fr' } }), 400, 'validation_failed');

    // A security notice to a Korean user: Korean words, a Korean date.
    const { body } = await registerUser(server.app);
    await call(server.app, 'PATCH', '/auth/me', { token: body.accessToken, body: { locale: 'ko' } });
    const user = (await server.runtime.ctx.users.findById(body.user.id))!;
    const { factorAddedNotice } = await import('../src/factors/notices.ts');
    factorAddedNotice(server.runtime.ctx, user, 'Phone');
    const notice = await mailTo(user.email, tKo('mail.notice.subject', { subject: tKo('mail.factorAdded.subject'), brand: brand() }));
    assert.ok(notice.text.includes('2단계 인증 수단 "Phone"이(가) 추가되었습니다'), notice.text);
    // ko-KR's order (year. month. day.) and a 24-hour clock (ICU builds differ in the day period's words).
    assert.match(notice.text, /\d{4}\. \d{1,2}\. \d{1,2}\. \d{2}:\d{2} UTC에/, 'the date as Korean readers write it');
    assert.ok(notice.text.includes(tKo('mail.notice.ifNotYou')));
  });

  it('the field errors of bad registrations translate', async () => {
    const good = { email: uniqueEmail('bad'), password: 'correct horse battery staple' };
    const bodies: Array<Record<string, unknown>> = [
      { password: good.password },
      { ...good, email: 'not-an-address' },
      { ...good, password: 'x' },
      { ...good, password: 'password1234' },
      { ...good, password: good.email },
      { ...good, mode: 'bogus' },
      { ...good, name: 5 },
      { ...good, name: 'a\u0001b' },
    ];
    for (const body of bodies) {
      const res = await call(server.app, 'POST', '/auth/register', { body, headers: KO });
      expectError(res, 400, 'validation_failed');
      const details = res.json().error.details as Array<{ field: string; message: string }>;
      assert.ok(details?.length, res.body);
      for (const { message } of details) assert.notEqual(translateServerMessage('ko', message), message, `"${message}" has a Korean form`);
    }
  });
});

// ---- the language switch ----------------------------------------------------------------------------------

describe('the language switch (POST /language)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.close());

  /** A page's CSRF cookie and form token, as a browser gets them. */
  async function formToken(): Promise<{ cookie: string; token: string }> {
    const page = await call(server.app, 'GET', '/login');
    const cookie = String(page.headers['set-cookie']).match(/gh_csrf=([^;]+)/)![1]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    return { cookie: `gh_csrf=${cookie}`, token };
  }

  async function post(form: Record<string, string>) {
    const { cookie, token } = await formToken();
    return server.app.inject({
      method: 'POST',
      url: '/language',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, ...form }).toString(),
    });
  }

  it('remembers the choice in gh_lang and goes back to a path on this server only', async () => {
    const res = await post({ lang: 'ko', return_to: '/forgot-password?x=1' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/forgot-password?x=1');
    assert.match(String(res.headers['set-cookie']), /gh_lang=ko;.*HttpOnly/i);
    for (const evil of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/a b', '']) {
      const away = await post({ lang: 'en', return_to: evil });
      assert.equal(away.statusCode, 303, evil);
      assert.equal(away.headers.location, '/account', `return_to ${JSON.stringify(evil)} stays here`);
    }
  });

  it('refuses a language we do not have and a form without its token, changing nothing', async () => {
    const bad = await post({ lang: 'fr', return_to: '/login' });
    assert.equal(bad.statusCode, 400);
    assert.doesNotMatch(String(bad.headers['set-cookie'] ?? ''), /gh_lang=/);
    const forged = await server.app.inject({ method: 'POST', url: '/language', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'lang=ko&return_to=%2Flogin' });
    assert.equal(forged.statusCode, 403);
    assert.doesNotMatch(String(forged.headers['set-cookie'] ?? ''), /gh_lang=/);
  });

  it("puts on each page a switch back to that page, and on a form's error page the page that has the form", async () => {
    const login = await call(server.app, 'GET', '/login?redirect_to=%2Fadmin', { headers: { 'accept-language': 'ko' } });
    assert.match(login.body, /<html lang="ko">/);
    assert.match(login.body, /name="return_to" value="\/login\?redirect_to=%2Fadmin"/);
    assert.match(login.body, /<button type="submit" name="lang" value="en" lang="en" class="link">English<\/button>/);
    assert.equal(switchReturn('POST', '/account/password'), '/account');
    assert.equal(switchReturn('POST', '/admin/clients/page/create'), '/admin/clients/page');
    assert.equal(switchReturn('POST', '/admin/invite'), '/admin');
    assert.equal(switchReturn('POST', '/login/magic-link/code'), '/login');
    assert.equal(switchReturn('POST', '/oauth2/interaction/abc_DEF-1/confirm'), '/oauth2/interaction/abc_DEF-1');
    assert.equal(switchReturn('POST', '/register?x=1'), '/register');
    assert.equal(sameSitePath('/account#mfa'), '/account#mfa');
  });
});
