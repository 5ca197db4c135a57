// Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser that signed in to an
// account before is counted in a failed-login bucket of its own, so an attacker elsewhere who fills the account's
// bucket locks out every unknown device but not the owner's.
//
// The cookie (`gh_device`, `__Host-gh_device` over https; HttpOnly, SameSite=Lax, Path=/, one year) is issued
// after every finished sign-in in the cookie and session modes (src/http/sign-in-answer.ts). Its value is
// `<nonce>.<HMAC(key, sha256(e-mail) "." nonce)>`, the key derived from GATEHOUSE_SECRET: it names no account,
// cannot be forged, and is good for the one e-mail it was issued for (a new address needs a new sign-in). Each
// sign-in issues a fresh nonce. A device cookie's own failures lock out only that cookie (`login:device:<nonce>`,
// same RATE_LIMIT_LOGIN_ACCOUNT limit); once locked out it exempts nothing, and its requests count against the
// account like any unknown device's (src/sessions/throttle.ts).
import { deriveKey, hmac, randomToken, safeEqual, sha256 } from '../crypto/random.ts';
import { normalizeEmail } from '../users/policy.ts';

export const DEVICE_COOKIE_MAX_AGE_S = 365 * 24 * 3600;

const keys = new Map<string, Buffer>();
function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = deriveKey(secret, 'device-cookie');
    keys.set(secret, key);
  }
  return key;
}

const mac = (secret: string, email: string, nonce: string) => hmac(keyOf(secret), `${sha256(normalizeEmail(email))}.${nonce}`);

/** A new device cookie value for a browser that just signed in to the account with this e-mail. */
export function issueDeviceCookie(secret: string, email: string): string {
  const nonce = randomToken();
  return `${nonce}.${mac(secret, email, nonce)}`;
}

/** The cookie's nonce when it is a device cookie this server issued for this e-mail; null otherwise. */
export function deviceNonce(secret: string, email: string, cookie: string | null | undefined): string | null {
  if (typeof cookie !== 'string' || cookie.length !== 87) return null;
  const match = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
  if (!match) return null;
  return safeEqual(match[2]!, mac(secret, email, match[1]!)) ? match[1]! : null;
}
