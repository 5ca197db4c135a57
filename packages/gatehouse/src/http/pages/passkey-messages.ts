// passkeys.js cannot read the catalogue: every message it may show comes from the page, as data-msg-*
// attributes on the passkey box it works in, rendered here in the page's language (the script keeps English
// ones for a box without them). The API's JSON stays English: the codes a person may meet in these
// ceremonies get a message of their own (data-msg-<code, with "-" for "_">); any other shows the API's message.
import { escapeHtml } from '../../html.ts';
import type { Translator } from '../../i18n/index.ts';

/** The box's ceremony: /login, the sign-in's second step, "Confirm it's you", or adding one on /account. */
export type PasskeyAction = 'signIn' | 'secondStep' | 'reauth' | 'register';

/** The box's data-msg-* attributes (with a leading space), escaped. */
export function passkeyMessages(t: Translator, action: PasskeyAction): string {
  const messages: Record<string, string> = {
    cancelled: t(`script.passkey.cancelled.${action}`),
    exists: t('script.passkey.exists'),
    rejected: t('script.passkey.rejected'),
    failed: t('script.passkey.failed'),
    'rate-limited': t('script.passkey.rateLimited'),
    'account-disabled': t('script.passkey.accountDisabled'),
    'email-not-verified': t('script.passkey.emailNotVerified'),
  };
  // Where the API's not_found has one meaning (the English is the API's own message).
  if (action === 'secondStep') messages['not-found'] = t('script.passkey.noneForSignIn');
  if (action === 'reauth') messages['not-found'] = t('script.passkey.noneOnAccount');
  return Object.entries(messages)
    .map(([name, text]) => ` data-msg-${name}="${escapeHtml(text)}"`)
    .join('');
}
