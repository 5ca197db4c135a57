// A translated message with pieces of our own markup in it ("signed in {date}", where {date} is a <time>):
// the message's text and every plain value are escaped, and only the values marked as markup are not.
import { escapeHtml } from '../../html.ts';
import type { MessageKey, Translator } from '../../i18n/index.ts';

/** HTML this server made (a <time>, a <strong>), put into a message as it is. */
export interface Markup {
  readonly html: string;
}

export function markup(html: string): Markup {
  return { html };
}

/** The message for `key` as HTML: `{name}` placeholders filled, plain values escaped, Markup values kept. */
export function tHtml(t: Translator, key: MessageKey, vars: Record<string, string | number | Markup> = {}): string {
  // t(key) without values keeps the placeholders, so each is filled exactly once, never inside a value.
  return t(key)
    .split(/(\{\w+\})/)
    .map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined || !(name in vars)) return escapeHtml(part);
      const value = vars[name]!;
      return typeof value === 'object' ? value.html : escapeHtml(String(value));
    })
    .join('');
}
