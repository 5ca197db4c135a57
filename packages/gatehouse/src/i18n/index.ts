// Pages and e-mails in the users' languages. One flat JSON catalogue per language (keys like
// "signIn.title"); `{name}` placeholders; plural forms as "key.one" / "key.other" picked with Intl.PluralRules;
// dates with Intl.DateTimeFormat. English is the reference: every other catalogue has exactly its keys
// (test/i18n.test.ts), and a key missing at run time falls back to English rather than showing the key.
import en from './en.json' with { type: 'json' };
import ko from './ko.json' with { type: 'json' };

export const LOCALES = ['en', 'ko'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';
/** Each language's name in itself, for the switch. */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', ko: '한국어' };

type Catalogue = Record<string, string>;
export const CATALOGUES: Record<Locale, Catalogue> = { en, ko };

type Plural<K extends string> = K extends `${infer Base}.other` ? Base : never;
export type MessageKey = keyof typeof en;
/** The base of a plural message: "x" when the catalogue has "x.one" and "x.other". */
export type PluralKey = Plural<MessageKey>;
export type Vars = Record<string, string | number>;

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

export interface Translator {
  readonly locale: Locale;
  /** The message for `key` with `{name}` placeholders filled in (values as given: escape for HTML afterwards). */
  (key: MessageKey, vars?: Vars): string;
  /** "key.one" or "key.other" (Korean has only "other"), with `{count}` set to n. */
  plural(key: PluralKey, n: number, vars?: Vars): string;
  /** A moment as a readable date and time in UTC. */
  dateTime(ms: number | string | Date): string;
  /** An English message from the server's domain (an error, a notice) in this language, when it has one. */
  server(message: string): string;
}

function fill(template: string, vars: Vars | undefined): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

const cache = new Map<Locale, Translator>();

export function translator(locale: Locale): Translator {
  const known = cache.get(locale);
  if (known) return known;
  const messages = CATALOGUES[locale];
  const plurals = new Intl.PluralRules(locale);
  // A 24-hour clock in both: ICU's Korean day periods vary by build ("AM 8:39" here, "오전 8:39" elsewhere).
  const dates = new Intl.DateTimeFormat(locale === 'ko' ? 'ko-KR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hourCycle: 'h23' });
  const lookup = (key: string): string => messages[key] ?? (en as Catalogue)[key] ?? key;
  const t = ((key: MessageKey, vars?: Vars) => fill(lookup(key), vars)) as Translator;
  Object.defineProperty(t, 'locale', { value: locale });
  t.plural = (key, n, vars) => {
    const form = `${key}.${plurals.select(n)}`;
    return fill(form in messages ? messages[form]! : lookup(`${key}.other`), { ...vars, count: n });
  };
  t.dateTime = (ms) => `${dates.format(new Date(ms))} UTC`;
  t.server = (message) => translateServerMessage(locale, message);
  cache.set(locale, t);
  return t;
}

// ---- the server's own English messages (error bodies, notices) on pages --------------------------------
// The API answers in English (the contract's error bodies). The pages show those messages translated: every
// "server.*" key's English text is a template; a message matching it is rewritten with the same values in
// the other language. Unknown messages stay as they are.

interface ServerPattern {
  key: string;
  regex: RegExp;
  names: string[];
}

let serverPatterns: ServerPattern[] | null = null;

function patterns(): ServerPattern[] {
  if (serverPatterns) return serverPatterns;
  serverPatterns = Object.entries(en as Catalogue)
    .filter(([key]) => key.startsWith('server.'))
    .map(([key, template]) => {
      const names: string[] = [];
      const source = template
        .split(/(\{\w+\})/)
        .map((part) => {
          const m = /^\{(\w+)\}$/.exec(part);
          if (m) {
            names.push(m[1]!);
            return '(.+?)';
          }
          return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      return { key, regex: new RegExp(`^${source}$`, 's'), names };
    });
  return serverPatterns;
}

export function translateServerMessage(locale: Locale, message: string): string {
  if (locale === 'en' || !message) return message;
  for (const p of patterns()) {
    const m = p.regex.exec(message);
    if (!m) continue;
    const vars: Vars = {};
    p.names.forEach((name, i) => (vars[name] = m[i + 1]!));
    const template = CATALOGUES[locale][p.key];
    return template ? fill(template, vars) : message;
  }
  return message;
}

// ---- choosing the language ------------------------------------------------------------------------------

/** The best of our languages for an Accept-Language header (RFC 9110 §12.5.4 weights), or null. */
export function negotiate(header: string | undefined): Locale | null {
  if (!header) return null;
  const ranges = header
    .slice(0, 512)
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/i.exec(p)).find(Boolean);
      return { tag: tag.trim().toLowerCase(), q: q ? Number(q[1]) : 1, index };
    })
    .filter((r) => r.tag && r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranges) {
    const primary = tag.split('-')[0];
    if (isLocale(primary)) return primary;
    if (tag === '*') return null;
  }
  return null;
}
