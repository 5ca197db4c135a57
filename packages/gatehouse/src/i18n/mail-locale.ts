// The language of an e-mail. The recipient's own choice (users.locale) comes first; without one, the language
// of the request that caused the mail (a hint: the page's language, or Accept-Language on the JSON API), which
// is all there is for an address with no account yet (a magic-link sign-up); else DEFAULT_LOCALE.
import type { Config } from '../config.ts';
import type { User } from '../users/store.ts';
import { isLocale, negotiate, translator, type Locale, type Translator } from './index.ts';

type LocaleSource = { config: Pick<Config, 'defaultLocale'> } | Pick<Config, 'defaultLocale'>;

/** user.locale ?? hint ?? config.defaultLocale (values that are not one of our languages are passed over). */
export function mailLocale(source: LocaleSource, user: Pick<User, 'locale'> | null | undefined, hint?: Locale | null): Locale {
  const fallback = 'config' in source ? source.config.defaultLocale : source.defaultLocale;
  if (user && isLocale(user.locale)) return user.locale;
  if (isLocale(hint)) return hint;
  return fallback;
}

/** The translator for a mail to `user` (or to an address without an account: null). */
export function mailTranslator(source: LocaleSource, user: Pick<User, 'locale'> | null | undefined, hint?: Locale | null): Translator {
  return translator(mailLocale(source, user, hint));
}

/** The hint a JSON API request gives: its Accept-Language, when it names one of our languages. */
export function localeHint(acceptLanguage: string | string[] | undefined): Locale | undefined {
  const header = Array.isArray(acceptLanguage) ? acceptLanguage.join(',') : acceptLanguage;
  return negotiate(header) ?? undefined;
}

/** The locale a new account starts with: the hint it signed up with, else none (it follows the browser). */
export function initialLocale(hint: Locale | null | undefined): Locale | null {
  return isLocale(hint) ? hint : null;
}
