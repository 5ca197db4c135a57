// The only reader of process.env: every setting is parsed and checked once, here, into one frozen Config.
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { parse as parseDotenv } from 'dotenv';
import { isLocale, LOCALES, type Locale } from './i18n/index.ts';
import { GENERIC_OIDC_SCOPES, OAUTH_PRESETS, type OAuthProviderConfig } from './methods/social/providers.ts';

export type JwtAlg = 'RS256' | 'ES256' | 'EdDSA' | 'HS256';
export const JWT_ALGS: readonly JwtAlg[] = ['RS256', 'ES256', 'EdDSA', 'HS256'];

export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  readonly secureCookies: boolean;
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  readonly redisUrl: string | null;
  readonly secret: string;
  readonly jwtAlg: JwtAlg;
  readonly jwtSecret: string | null;
  readonly jwtAudience: string;
  readonly accessTokenTtlMs: number;
  readonly refreshTokenTtlMs: number;
  readonly refreshReuseGraceMs: number;
  readonly sessionTtlMs: number;
  readonly roles: readonly string[];
  readonly passwordMinLength: number;
  readonly passwordMaxLength: number;
  readonly requireEmailVerification: boolean;
  readonly verifyTokenTtlMs: number;
  readonly resetTokenTtlMs: number;
  readonly smtpUrl: string | null;
  /** MAIL_OUTBOX=true: without SMTP_URL, mail goes to DATA_DIR/outbox, even in production (where it must be asked for). */
  readonly mailOutbox: boolean;
  readonly mailFrom: { readonly name: string; readonly address: string };
  readonly brandName: string;
  /** The pages' accent colour, `#rrggbb`. */
  readonly brandColor: string;
  /** DEFAULT_LOCALE: the language of pages and e-mails when neither the user nor the browser chose one of ours. */
  readonly defaultLocale: Locale;
  readonly rateLimits: {
    readonly loginAccount: RateLimit;
    readonly loginIp: RateLimit;
    readonly signupIp: RateLimit;
    /** Recovery and verification e-mails per account, whoever asks and from wherever. */
    readonly mailAccount: RateLimit;
    readonly ip: RateLimit;
  };
  readonly trustProxy: boolean | number | string[];
  /** REQUEST_TIMEOUT: how long a request (headers and body) may take to arrive; then 408 and the socket closes. */
  readonly requestTimeoutMs: number;
  /** HEADERS_TIMEOUT: how long the headers alone may take (at most REQUEST_TIMEOUT). */
  readonly headersTimeoutMs: number;
  /** KEEP_ALIVE_TIMEOUT: how long an idle keep-alive connection is kept open. */
  readonly keepAliveTimeoutMs: number;
  /** MAX_CONNECTIONS: open connections at once; more are closed as they arrive. */
  readonly maxConnections: number;
  readonly corsOrigins: readonly string[];
  readonly logLevel: string;
  /** LOG_FORMAT: json, pretty (pino-pretty, a development dependency), or auto: pretty in development on a terminal, else JSON. */
  readonly logFormat: 'json' | 'pretty' | 'auto';
  readonly keyRingRefreshMs: number;
  /** How long a new signing key is published before it signs (KEY_ACTIVATION_DELAY). */
  readonly keyActivationDelayMs: number;
  /** Password hashes computed at once (HASH_CONCURRENCY); more wait in a queue. */
  readonly hashConcurrency: number;
  /** Password hashes allowed to wait (HASH_QUEUE_MAX); null = about one second of work, measured at start. */
  readonly hashQueueMax: number | null;
  readonly auditRetentionMs: number;
  /** MFA_REQUIRED_ROLES: users of these roles must enrol a second factor before anything else. */
  readonly mfaRequiredRoles: readonly string[];
  /** REAUTH_MAX_AGE: how recent a sign-in the sensitive routes need (step-up). */
  readonly reauthMaxAgeMs: number;
  /** MFA_RESET_DELAY: how long a lost-factor reset by e-mail waits before it removes the factors. */
  readonly mfaResetDelayMs: number;
  /** MAGIC_LINK_TTL: how long an e-mailed sign-in link and its code work. */
  readonly magicLinkTtlMs: number;
  /** MAGIC_LINK_SIGNUP: whether a link asked for an unknown address makes an account. */
  readonly magicLinkSignup: boolean;
  readonly metricsToken: string | null;
  /** METRICS=off turns /metrics off; in production it is served only behind METRICS_TOKEN. */
  readonly metricsEnabled: boolean;
  /** Enabled OAuth / OpenID Connect providers (`OAUTH_<NAME>_…`). */
  readonly oauthProviders: readonly OAuthProviderConfig[];
  /** `OAUTH_REDIRECT_ALLOWLIST`: the exact URLs a sign-in may end at; PUBLIC_URL + '/' by default. */
  readonly oauthRedirectAllowlist: readonly string[];
  /** Passkeys' relying party: WEBAUTHN_RP_ID (PUBLIC_URL's host), the origins assertions may come from, WEBAUTHN_ATTESTATION. */
  readonly webauthn: WebAuthnConfig;
  /** OIDC_PROVIDER: Gatehouse is an OpenID provider under /oauth2/ (default on; off with JWT_ALG=HS256, which has no public key to sign ID tokens). */
  readonly oidcProvider: boolean;
  /**
   * OIDC_REGISTRATION_TOKEN: the initial access token (a Bearer token, at least 32 characters) that dynamic client
   * registration (RFC 7591, POST /oauth2/register) requires; null: registration is off and not advertised.
   */
  readonly oidcRegistrationToken: string | null;
}

export interface WebAuthnConfig {
  readonly rpId: string;
  /** PUBLIC_URL's origin, then WEBAUTHN_ORIGINS. */
  readonly origins: readonly string[];
  readonly attestation: 'none' | 'direct';
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `15m`, `7d`, `10s`, `500ms` or a bare number of seconds. */
export function parseDuration(value: string): number | null {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) return null;
  return Number(match[1]) * UNITS[match[2] ?? 's']!;
}

function duration(env: Env, name: string, fallback: string, min = 0): number {
  const raw = env[name] ?? fallback;
  const ms = parseDuration(raw);
  if (ms === null) throw new ConfigError(name, `"${raw}" is not a duration (use e.g. 10s, 15m, 7d)`);
  if (ms < min) throw new ConfigError(name, `must be at least ${min} ms`);
  return ms;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `"${raw}" is not a whole number`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `"${env[name]}" is not true or false`);
}

function rateLimit(env: Env, name: string, fallback: string): RateLimit {
  const raw = env[name] ?? fallback;
  const [count, window] = raw.split('/');
  const windowMs = window === undefined ? null : parseDuration(window);
  if (!count || !/^\d+$/.test(count) || Number(count) < 1 || windowMs === null || windowMs < 1000) {
    throw new ConfigError(name, `"${raw}" is not COUNT/WINDOW (e.g. 5/15m)`);
  }
  return { max: Number(count), windowMs };
}

/** A CSS hex colour, #rgb or #rrggbb, kept as lower-case #rrggbb (it is written into the stylesheet). */
function hexColor(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim() || fallback;
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(raw);
  if (!match) throw new ConfigError(name, `"${raw.slice(0, 40)}" is not a hex colour (#rgb or #rrggbb)`);
  const hex = match[1]!.toLowerCase();
  return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function url(env: Env, name: string, raw: string): URL {
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol');
    return parsed;
  } catch {
    throw new ConfigError(name, `"${raw}" is not an http(s) URL`);
  }
}

function trustProxy(env: Env): Config['trustProxy'] {
  const raw = env.TRUST_PROXY?.trim();
  if (!raw || raw === 'false') return false;
  if (raw === 'true') {
    // Trusting every hop makes the client's own X-Forwarded-For the key of every per-IP limit: anyone could
    // rotate it to escape them. Name the proxies (addresses, CIDRs) or count the hops instead.
    if (env.NODE_ENV === 'production') throw new ConfigError('TRUST_PROXY', 'true is refused in production: list the proxy addresses or CIDR ranges, or give the number of proxy hops');
    return true;
  }
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = list(env, 'TRUST_PROXY');
  for (const entry of entries) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry) && !['loopback', 'linklocal', 'uniquelocal'].includes(entry)) {
      throw new ConfigError('TRUST_PROXY', `"${entry}" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal`);
    }
  }
  return entries;
}

/** MAIL_FROM as `Name <address>` or a bare address; by default BRAND_NAME <no-reply@PUBLIC_URL's host>. */
function mailSender(env: Env, brandName: string, publicUrl: URL): Config['mailFrom'] {
  const raw = env.MAIL_FROM?.trim();
  if (!raw) return { name: brandName, address: `no-reply@${/^[\d.]+$|^\[/.test(publicUrl.hostname) ? 'localhost' : publicUrl.hostname}` };
  const match = /^(?:"?([^"<>\r\n]*)"?\s*<)?([^\s<>@]+@[^\s<>@]+)>?$/.exec(raw);
  if (!match) throw new ConfigError('MAIL_FROM', 'must be an address like "Gatehouse <no-reply@example.com>"');
  return { name: match[1]?.trim() || brandName, address: match[2]! };
}

const OAUTH_SETTING = /^OAUTH_([A-Z][A-Z0-9]*)_(CLIENT_ID|CLIENT_SECRET|ISSUER|AUTHORIZATION_URL|TOKEN_URL|USERINFO_URL|JWKS_URL|SCOPES)$/;

/**
 * `OAUTH_<NAME>_CLIENT_ID` and `_CLIENT_SECRET` enable a provider: a preset (google, github, kakao) or, with
 * `_ISSUER`, any OpenID Connect provider. `_ISSUER`, `_AUTHORIZATION_URL`, `_TOKEN_URL`, `_USERINFO_URL`,
 * `_JWKS_URL` and `_SCOPES` override a preset's values. URLs must be https (http only on a loopback address).
 */
function oauthProviders(env: Env): OAuthProviderConfig[] {
  const names = new Set<string>();
  for (const [key, value] of Object.entries(env)) {
    const match = OAUTH_SETTING.exec(key);
    if (match && value?.trim()) names.add(match[1]!);
  }
  const providers: OAuthProviderConfig[] = [];
  for (const NAME of [...names].sort()) {
    const name = NAME.toLowerCase();
    const setting = (suffix: string) => env[`OAUTH_${NAME}_${suffix}`]?.trim() || null;
    const endpoint = (suffix: string, fallback: string | null = null): string | null => {
      const raw = setting(suffix) ?? fallback;
      if (raw === null) return null;
      const variable = `OAUTH_${NAME}_${suffix}`;
      const parsed = url(env, variable, raw);
      const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(parsed.hostname);
      if (parsed.protocol !== 'https:' && !loopback) throw new ConfigError(variable, 'must be an https URL (http only for a loopback address)');
      if (parsed.hash || parsed.username || parsed.password) throw new ConfigError(variable, 'must not contain a fragment or credentials');
      // Kept as written: an issuer is compared character for character with the `iss` of its tokens.
      return raw;
    };
    if (name.length > 32) throw new ConfigError(`OAUTH_${NAME}_CLIENT_ID`, 'the provider name must be at most 32 characters');
    if (name === 'exchange') throw new ConfigError(`OAUTH_${NAME}_CLIENT_ID`, '"exchange" is reserved; choose another provider name');
    const preset = OAUTH_PRESETS[name];
    const clientId = setting('CLIENT_ID');
    const clientSecret = setting('CLIENT_SECRET');
    if (!clientId) throw new ConfigError(`OAUTH_${NAME}_CLIENT_ID`, `is required to enable the ${name} provider`);
    if (!clientSecret) throw new ConfigError(`OAUTH_${NAME}_CLIENT_SECRET`, `is required to enable the ${name} provider`);
    if (!preset && !setting('ISSUER')) {
      throw new ConfigError(`OAUTH_${NAME}_ISSUER`, `is required for "${name}", which is not a preset (${Object.keys(OAUTH_PRESETS).join(', ')}): set it to the provider's OpenID Connect issuer URL`);
    }
    const scopes = setting('SCOPES') ?? preset?.scopes ?? GENERIC_OIDC_SCOPES;
    const kind = preset?.kind ?? 'oidc';
    if (kind === 'oidc' && !scopes.split(/\s+/).includes('openid')) throw new ConfigError(`OAUTH_${NAME}_SCOPES`, 'must include openid');
    providers.push({
      name,
      label: preset?.label ?? NAME.charAt(0) + name.slice(1),
      kind,
      clientId,
      clientSecret,
      issuer: endpoint('ISSUER', preset?.issuer ?? null)!,
      scopes,
      authorizationUrl: endpoint('AUTHORIZATION_URL', preset?.authorizationUrl),
      tokenUrl: endpoint('TOKEN_URL', preset?.tokenUrl),
      userinfoUrl: endpoint('USERINFO_URL', preset?.userinfoUrl),
      jwksUrl: endpoint('JWKS_URL', preset?.jwksUrl),
    });
  }
  return providers;
}

/**
 * The WebAuthn relying party. Its id is PUBLIC_URL's host unless WEBAUTHN_RP_ID says otherwise, and it must be
 * that host or a parent domain of it and of every origin in WEBAUTHN_ORIGINS (a browser refuses the ceremony
 * otherwise, so a wrong value is better caught at start than by users).
 */
function webauthnConfig(env: Env, publicUrl: URL): WebAuthnConfig {
  const rpId = (env.WEBAUTHN_RP_ID?.trim() || publicUrl.hostname).toLowerCase();
  const ipv6 = /^\[.*\]$/.test(rpId);
  if (!ipv6 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(rpId)) {
    throw new ConfigError('WEBAUTHN_RP_ID', `"${rpId.slice(0, 60)}" is not a host name (e.g. example.com, no scheme or port)`);
  }
  const origins = [publicUrl.origin];
  for (const origin of list(env, 'WEBAUTHN_ORIGINS')) {
    const parsed = url(env, 'WEBAUTHN_ORIGINS', origin);
    if (parsed.origin !== origin) throw new ConfigError('WEBAUTHN_ORIGINS', `"${origin}" is not an origin (scheme://host[:port], no path)`);
    if (!origins.includes(origin)) origins.push(origin);
  }
  for (const origin of origins) {
    const host = new URL(origin).hostname;
    // An IP address is its own and only relying party; a domain may use itself or any parent domain.
    const ip = /^[\d.]+$/.test(host) || host.startsWith('[');
    if (host !== rpId && (ip || !host.endsWith(`.${rpId}`))) {
      throw new ConfigError(env.WEBAUTHN_RP_ID?.trim() ? 'WEBAUTHN_RP_ID' : 'WEBAUTHN_ORIGINS', `"${rpId}" is not ${host} or a parent domain of it (origin ${origin}): passkeys would not work there`);
    }
  }
  const attestation = env.WEBAUTHN_ATTESTATION?.trim().toLowerCase() || 'none';
  if (attestation !== 'none' && attestation !== 'direct') throw new ConfigError('WEBAUTHN_ATTESTATION', `"${attestation.slice(0, 20)}" is not none or direct`);
  return Object.freeze({ rpId, origins: Object.freeze(origins), attestation });
}

/** `OAUTH_REDIRECT_ALLOWLIST`: comma-separated URLs that `redirect_to` must equal exactly. */
function oauthRedirectAllowlist(env: Env, publicUrl: string): string[] {
  const entries = list(env, 'OAUTH_REDIRECT_ALLOWLIST');
  for (const entry of entries) {
    if (url(env, 'OAUTH_REDIRECT_ALLOWLIST', entry).hash) throw new ConfigError('OAUTH_REDIRECT_ALLOWLIST', `"${entry}" must not contain a fragment (#)`);
  }
  return entries.length ? entries : [`${publicUrl}/`];
}

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
function oidcProviderEnabled(env: Env, jwtAlg: JwtAlg): boolean {
  const enabled = bool(env, 'OIDC_PROVIDER', jwtAlg !== 'HS256');
  // ID tokens are verified by other parties with the published keys: an HMAC secret cannot be published.
  if (enabled && jwtAlg === 'HS256') throw new ConfigError('OIDC_PROVIDER', 'the OpenID provider needs an asymmetric JWT_ALG (RS256, ES256 or EdDSA), not HS256');
  return enabled;
}

/** RFC 6750 b64token: what can travel as `Authorization: Bearer <token>`. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function oidcRegistrationToken(env: Env, providerOn: boolean): string | null {
  const token = env.OIDC_REGISTRATION_TOKEN?.trim() || null;
  if (!token) return null;
  if (!providerOn) throw new ConfigError('OIDC_REGISTRATION_TOKEN', 'is set, but the OpenID provider is off (OIDC_PROVIDER): unset it or turn the provider on');
  if (token.length < 32) throw new ConfigError('OIDC_REGISTRATION_TOKEN', 'is too short: use at least 32 random characters (e.g. `openssl rand -base64 32`)');
  // Compared in constant time over 1000 bytes (oidc-provider's constantEquals); longer would show its length.
  if (token.length > 512) throw new ConfigError('OIDC_REGISTRATION_TOKEN', 'is too long: use at most 512 characters');
  if (!BEARER_TOKEN.test(token)) throw new ConfigError('OIDC_REGISTRATION_TOKEN', 'must be usable as a Bearer token: letters, digits and - . _ ~ + / (then = padding)');
  return token;
}

const WEAK_SECRETS = new Set(['secret', 'changeme', 'change-me', 'password', 'your-secret-key', 'jwt-secret', 'supersecret']);

function isWeakSecret(value: string): boolean {
  return value.length < 32 || WEAK_SECRETS.has(value.toLowerCase()) || new Set(value).size < 10;
}

/** In development a missing GATEHOUSE_SECRET is generated once and kept under DATA_DIR. */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret');
  try {
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, secret + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    return secret;
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new ConfigError('DATA_DIR', `cannot create or write ${dataDir} (${code}) to keep the generated secret: set DATA_DIR to a writable directory, or set GATEHOUSE_SECRET`);
  }
}

/** A connection URL is checked whole here, so a typo fails naming its variable instead of as a driver's "Invalid URL". */
function connectionUrl(env: Env, name: string, schemes: RegExp, expected: string): string | null {
  const raw = env[name]?.trim() || null;
  if (!raw) return null;
  if (!schemes.test(raw)) throw new ConfigError(name, `must be ${expected}`);
  try {
    const parsed = new URL(raw);
    if (!parsed.hostname) throw new Error('no host');
  } catch {
    // The value is not echoed: it may hold a password.
    throw new ConfigError(name, `is not a valid URL (${expected}); characters such as @ : / # ? in the user or password must be percent-encoded (@ as %40)`);
  }
  return raw;
}

/** Reads `.env` from the directory npm (or the shell) was started in; real environment variables win. */
export function readEnv(base: Env = process.env): Env {
  const dir = base.INIT_CWD ?? process.cwd();
  const file = path.join(dir, '.env');
  const fromFile = existsSync(file) ? parseDotenv(readFileSync(file)) : {};
  return { ...fromFile, ...base };
}

export function loadConfig(env: Env = readEnv()): Config {
  const nodeEnv = env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const production = nodeEnv === 'production';
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = env.HOST?.trim() || '127.0.0.1';
  const publicUrl = url(env, 'PUBLIC_URL', env.PUBLIC_URL?.trim() || `http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const https = publicUrl.protocol === 'https:';
  const dataDir = path.resolve(env.INIT_CWD ?? process.cwd(), env.DATA_DIR?.trim() || 'data');

  const databaseUrl = connectionUrl(env, 'DATABASE_URL', /^postgres(ql)?:\/\//, 'a postgres:// URL (leave it unset for the embedded SQLite)');
  const redisUrl = connectionUrl(env, 'REDIS_URL', /^rediss?:\/\//, 'a redis:// or rediss:// URL');

  let secret = env.GATEHOUSE_SECRET?.trim();
  if (secret) {
    if (isWeakSecret(secret)) {
      if (production) throw new ConfigError('GATEHOUSE_SECRET', 'is too weak: use at least 32 random characters (e.g. `openssl rand -base64 32`)');
    }
  } else {
    if (production) throw new ConfigError('GATEHOUSE_SECRET', 'is required in production: set it to at least 32 random characters');
    secret = developmentSecret(dataDir);
  }

  const jwtAlg = (env.JWT_ALG?.trim() || 'RS256') as JwtAlg;
  if (!JWT_ALGS.includes(jwtAlg)) throw new ConfigError('JWT_ALG', `must be one of ${JWT_ALGS.join(', ')}`);
  const jwtSecret = env.JWT_SECRET?.trim() || null;
  if (jwtAlg === 'HS256') {
    if (!jwtSecret) throw new ConfigError('JWT_SECRET', 'is required when JWT_ALG=HS256');
    if (isWeakSecret(jwtSecret)) throw new ConfigError('JWT_SECRET', 'is too weak: use at least 32 random characters');
  }

  const cookieSecure = env.COOKIE_SECURE === undefined ? https : bool(env, 'COOKIE_SECURE', https);
  if (production && !cookieSecure && env.COOKIE_SECURE !== undefined && env.COOKIE_SECURE.trim() !== '') {
    throw new ConfigError('COOKIE_SECURE', 'false is refused in production: session cookies must be Secure; remove COOKIE_SECURE (it follows PUBLIC_URL) and serve Gatehouse over https');
  }
  if (production && !cookieSecure) {
    throw new ConfigError('PUBLIC_URL', 'must be https in production so that cookies are Secure (or put Gatehouse behind TLS and set PUBLIC_URL to its https address)');
  }

  const corsOrigins = list(env, 'CORS_ORIGINS');
  for (const origin of corsOrigins) {
    if (origin === '*') {
      if (production) throw new ConfigError('CORS_ORIGINS', 'a wildcard (*) is refused in production: list the allowed origins');
      continue;
    }
    const parsed = url(env, 'CORS_ORIGINS', origin);
    if (parsed.origin !== origin) throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin (scheme://host[:port], no path)`);
  }

  const smtpUrl = connectionUrl(env, 'SMTP_URL', /^smtps?:\/\/[^\s]+$/, 'an smtp:// or smtps:// URL');
  const mailOutbox = bool(env, 'MAIL_OUTBOX', !production);
  if (production && !smtpUrl && !mailOutbox) {
    // Verification and reset mail written to a folder on the server reaches nobody: ask for that on purpose.
    throw new ConfigError('SMTP_URL', 'is required in production (e.g. smtp://user:password@smtp.example.com:587), or set MAIL_OUTBOX=true to write mail to DATA_DIR/outbox instead');
  }
  const defaultLocale = env.DEFAULT_LOCALE?.trim() || 'en';
  if (!isLocale(defaultLocale)) throw new ConfigError('DEFAULT_LOCALE', `must be one of ${LOCALES.join(', ')}`);
  const brandName = env.BRAND_NAME?.trim() || 'Gatehouse';
  if (brandName.length > 60 || /[\r\n]/.test(brandName)) throw new ConfigError('BRAND_NAME', 'must be one line of at most 60 characters');
  const mailFrom = mailSender(env, brandName, publicUrl);
  const brandColor = hexColor(env, 'BRAND_COLOR', '#2f5bd3');

  const extraRoles = list(env, 'ROLES').map((r) => r.toLowerCase());
  for (const role of extraRoles) {
    if (!ROLE_NAME.test(role)) throw new ConfigError('ROLES', `"${role}" is not a role name (a-z, 0-9, _ or -, at most 32)`);
  }

  const mfaRequiredRoles = list(env, 'MFA_REQUIRED_ROLES').map((r) => r.toLowerCase());
  for (const role of mfaRequiredRoles) {
    if (![...extraRoles, 'user', 'admin'].includes(role)) throw new ConfigError('MFA_REQUIRED_ROLES', `"${role}" is not a role: use user, admin or one named in ROLES`);
  }

  const passwordMinLength = integer(env, 'PASSWORD_MIN_LENGTH', 8, 8, 128);
  const passwordMaxLength = integer(env, 'PASSWORD_MAX_LENGTH', 128, passwordMinLength, 1024);
  const accessTokenTtlMs = duration(env, 'ACCESS_TOKEN_TTL', '15m', 10_000);
  // A slow client (one byte a second) would otherwise hold its connection for as long as it likes.
  const requestTimeoutMs = duration(env, 'REQUEST_TIMEOUT', '30s', 1000);
  const headersTimeoutMs = duration(env, 'HEADERS_TIMEOUT', `${Math.min(10_000, requestTimeoutMs)}ms`, 1000);
  if (headersTimeoutMs > requestTimeoutMs) throw new ConfigError('HEADERS_TIMEOUT', 'must not be longer than REQUEST_TIMEOUT');

  const metricsToken = env.METRICS_TOKEN?.trim() || null;
  const metricsSetting = env.METRICS?.trim().toLowerCase() || 'on';
  if (!['on', 'off'].includes(metricsSetting)) throw new ConfigError('METRICS', `"${env.METRICS}" is not on or off`);
  const metricsEnabled = metricsSetting === 'on';
  // Metrics show traffic, failed logins and backends' health: in production they need a token or must be off.
  if (production && metricsEnabled && !metricsToken) {
    throw new ConfigError('METRICS_TOKEN', 'is required in production so that /metrics is not public: set it to a random string (Prometheus sends it as a Bearer token), or set METRICS=off');
  }
  if (metricsToken && metricsToken.length < 16 && production) throw new ConfigError('METRICS_TOKEN', 'is too short: use at least 16 random characters');

  const config: Config = {
    env: nodeEnv,
    port,
    host,
    publicUrl: publicUrl.href.replace(/\/$/, ''),
    secureCookies: cookieSecure,
    dataDir,
    databaseUrl,
    redisUrl,
    secret,
    jwtAlg,
    jwtSecret,
    jwtAudience: env.JWT_AUDIENCE?.trim() || publicUrl.href.replace(/\/$/, ''),
    accessTokenTtlMs,
    refreshTokenTtlMs: duration(env, 'REFRESH_TOKEN_TTL', '7d', 60_000),
    refreshReuseGraceMs: duration(env, 'REFRESH_REUSE_GRACE', '10s'),
    sessionTtlMs: duration(env, 'SESSION_TTL', '7d', 60_000),
    roles: [...new Set(['user', 'admin', ...extraRoles])],
    passwordMinLength,
    passwordMaxLength,
    requireEmailVerification: bool(env, 'REQUIRE_EMAIL_VERIFICATION', false),
    verifyTokenTtlMs: duration(env, 'VERIFY_TOKEN_TTL', '24h', 60_000),
    resetTokenTtlMs: duration(env, 'RESET_TOKEN_TTL', '1h', 60_000),
    smtpUrl,
    mailOutbox,
    mailFrom,
    brandName,
    defaultLocale,
    brandColor,
    rateLimits: {
      loginAccount: rateLimit(env, 'RATE_LIMIT_LOGIN_ACCOUNT', '5/15m'),
      loginIp: rateLimit(env, 'RATE_LIMIT_LOGIN_IP', '20/15m'),
      signupIp: rateLimit(env, 'RATE_LIMIT_SIGNUP_IP', '5/1h'),
      mailAccount: rateLimit(env, 'RATE_LIMIT_MAIL_ACCOUNT', '3/15m'),
      ip: rateLimit(env, 'RATE_LIMIT_IP', '300/1m'),
    },
    trustProxy: trustProxy(env),
    corsOrigins,
    requestTimeoutMs,
    headersTimeoutMs,
    // Longer than the 60 s idle timeout of common proxies and load balancers, so that they, not we, close an
    // idle connection (else a request they send on it as we close it fails with a 502).
    keepAliveTimeoutMs: duration(env, 'KEEP_ALIVE_TIMEOUT', '72s', 1000),
    maxConnections: integer(env, 'MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    logLevel: env.LOG_LEVEL?.trim() || (nodeEnv === 'test' ? 'silent' : 'info'),
    logFormat: (env.LOG_FORMAT?.trim().toLowerCase() || 'auto') as Config['logFormat'],
    keyRingRefreshMs: duration(env, 'KEY_RING_REFRESH', '30s', 1000),
    keyActivationDelayMs: duration(env, 'KEY_ACTIVATION_DELAY', '3s'),
    hashConcurrency: integer(env, 'HASH_CONCURRENCY', availableParallelism(), 1, 256),
    hashQueueMax: env.HASH_QUEUE_MAX?.trim() ? integer(env, 'HASH_QUEUE_MAX', 0, 0, 100_000) : null,
    auditRetentionMs: duration(env, 'AUDIT_RETENTION', '90d', 86_400_000),
    mfaRequiredRoles,
    reauthMaxAgeMs: duration(env, 'REAUTH_MAX_AGE', '10m', 10_000),
    mfaResetDelayMs: duration(env, 'MFA_RESET_DELAY', '72h', 60_000),
    magicLinkTtlMs: duration(env, 'MAGIC_LINK_TTL', '15m', 60_000),
    magicLinkSignup: bool(env, 'MAGIC_LINK_SIGNUP', false),
    metricsToken,
    metricsEnabled,
    oauthProviders: oauthProviders(env),
    oauthRedirectAllowlist: oauthRedirectAllowlist(env, publicUrl.href.replace(/\/$/, '')),
    webauthn: webauthnConfig(env, publicUrl),
    oidcProvider: oidcProviderEnabled(env, jwtAlg),
    oidcRegistrationToken: oidcRegistrationToken(env, oidcProviderEnabled(env, jwtAlg)),
  };
  if (!['json', 'pretty', 'auto'].includes(config.logFormat)) throw new ConfigError('LOG_FORMAT', 'must be json, pretty or auto');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    throw new ConfigError('LOG_LEVEL', 'must be one of fatal, error, warn, info, debug, trace, silent');
  }
  return Object.freeze(config);
}
