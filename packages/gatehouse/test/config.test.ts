// The settings: defaults, parsing, and the production refusals that name the variable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseDuration } from '../src/config.ts';
import { tempDataDir } from './helpers/backends.ts';

const STRONG = 'k3Y-9f8s7d6f5g4h3j2k1l0pOiUyTrEwQaSz';

function expectRefusal(env: Record<string, string>, variable: string) {
  assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.variable === variable && err.message.startsWith(variable));
}

describe('config', () => {
  it('runs with nothing set: port 3000, 127.0.0.1, RS256, 15m/7d/10s, a generated secret kept in DATA_DIR', () => {
    const data = tempDataDir();
    try {
      const config = loadConfig({ DATA_DIR: data.dir });
      assert.equal(config.port, 3000);
      assert.equal(config.host, '127.0.0.1');
      assert.equal(config.publicUrl, 'http://127.0.0.1:3000');
      assert.equal(config.jwtAudience, 'http://127.0.0.1:3000');
      assert.equal(config.jwtAlg, 'RS256');
      assert.equal(config.accessTokenTtlMs, 15 * 60_000);
      assert.equal(config.refreshTokenTtlMs, 7 * 86_400_000);
      assert.equal(config.refreshReuseGraceMs, 10_000);
      assert.deepEqual(config.rateLimits.loginAccount, { max: 5, windowMs: 15 * 60_000 });
      assert.deepEqual(config.roles, ['user', 'admin']);
      assert.equal(config.secureCookies, false);
      assert.ok(config.secret.length >= 32);
      assert.equal(loadConfig({ DATA_DIR: data.dir }).secret, config.secret, 'the generated secret persists');
      assert.ok(Object.isFrozen(config));
    } finally {
      data.remove();
    }
  });

  it('parses durations, rates, roles and proxies', () => {
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('10'), 10_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('abc'), null);
    const config = loadConfig({ GATEHOUSE_SECRET: STRONG, ROLES: 'manager, moderator', RATE_LIMIT_IP: '50/30s', TRUST_PROXY: '10.0.0.0/8,loopback' });
    assert.deepEqual(config.roles, ['user', 'admin', 'manager', 'moderator']);
    assert.deepEqual(config.rateLimits.ip, { max: 50, windowMs: 30_000 });
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', 'loopback']);
    assert.equal(config.secureCookies, false);
    assert.equal(loadConfig({ GATEHOUSE_SECRET: STRONG, PUBLIC_URL: 'https://auth.example.com/' }).secureCookies, true);
  });

  it('stops on a bad value, naming the variable', () => {
    expectRefusal({ GATEHOUSE_SECRET: STRONG, PORT: 'eighty' }, 'PORT');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, ACCESS_TOKEN_TTL: 'soon' }, 'ACCESS_TOKEN_TTL');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, RATE_LIMIT_LOGIN_ACCOUNT: '5 per minute' }, 'RATE_LIMIT_LOGIN_ACCOUNT');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, JWT_ALG: 'none' }, 'JWT_ALG');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, JWT_ALG: 'HS256' }, 'JWT_SECRET');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, JWT_ALG: 'HS256', JWT_SECRET: 'secret' }, 'JWT_SECRET');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, DATABASE_URL: 'mysql://x' }, 'DATABASE_URL');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, ROLES: 'Bad Role' }, 'ROLES');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, TRUST_PROXY: 'everyone' }, 'TRUST_PROXY');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, PASSWORD_MIN_LENGTH: '4' }, 'PASSWORD_MIN_LENGTH');
  });

  it('refuses to start in production with a missing or weak secret, insecure cookies or wildcard CORS', () => {
    const prod = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.example.com', GATEHOUSE_SECRET: STRONG, SMTP_URL: 'smtp://mail.example.com:587', METRICS_TOKEN: 'metrics-0123456789abcdef' };
    assert.equal(loadConfig(prod).env, 'production');
    expectRefusal({ ...prod, GATEHOUSE_SECRET: '' }, 'GATEHOUSE_SECRET');
    expectRefusal({ ...prod, GATEHOUSE_SECRET: 'changeme' }, 'GATEHOUSE_SECRET');
    expectRefusal({ ...prod, GATEHOUSE_SECRET: 'a'.repeat(40) }, 'GATEHOUSE_SECRET');
    expectRefusal({ ...prod, PUBLIC_URL: 'http://auth.example.com' }, 'PUBLIC_URL');
    // The setting that is wrong is named, not PUBLIC_URL.
    expectRefusal({ ...prod, COOKIE_SECURE: 'false' }, 'COOKIE_SECURE');
    expectRefusal({ ...prod, CORS_ORIGINS: 'https://app.example.com,*' }, 'CORS_ORIGINS');
    // Trusting every hop would let a client pick its own rate-limit bucket through X-Forwarded-For.
    expectRefusal({ ...prod, TRUST_PROXY: 'true' }, 'TRUST_PROXY');
    assert.equal(loadConfig({ ...prod, TRUST_PROXY: '1' }).trustProxy, 1);
  });

  it('bounds password hashing: one slot per core by default, the queue measured unless HASH_QUEUE_MAX is set', () => {
    const defaults = loadConfig({ GATEHOUSE_SECRET: STRONG });
    assert.ok(defaults.hashConcurrency >= 1);
    assert.equal(defaults.hashQueueMax, null);
    const set = loadConfig({ GATEHOUSE_SECRET: STRONG, HASH_CONCURRENCY: '3', HASH_QUEUE_MAX: '0' });
    assert.equal(set.hashConcurrency, 3);
    assert.equal(set.hashQueueMax, 0);
    expectRefusal({ GATEHOUSE_SECRET: STRONG, HASH_CONCURRENCY: '0' }, 'HASH_CONCURRENCY');
    expectRefusal({ GATEHOUSE_SECRET: STRONG, HASH_QUEUE_MAX: 'lots' }, 'HASH_QUEUE_MAX');
  });

  it('takes BRAND_COLOR as #rgb or #rrggbb and refuses anything else, which would reach the stylesheet', () => {
    assert.equal(loadConfig({ GATEHOUSE_SECRET: STRONG }).brandColor, '#2f5bd3');
    assert.equal(loadConfig({ GATEHOUSE_SECRET: STRONG, BRAND_COLOR: '#0A8' }).brandColor, '#00aa88');
    assert.equal(loadConfig({ GATEHOUSE_SECRET: STRONG, BRAND_COLOR: ' #12AbEf ' }).brandColor, '#12abef');
    for (const bad of ['red', '#12345', '#ggg', '12abef', '#fff;}body{display:none', 'url(x)']) {
      expectRefusal({ GATEHOUSE_SECRET: STRONG, BRAND_COLOR: bad }, 'BRAND_COLOR');
    }
  });

  it('in production needs SMTP_URL unless MAIL_OUTBOX=true, and METRICS_TOKEN unless METRICS=off', () => {
    const prod = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.example.com', GATEHOUSE_SECRET: STRONG, METRICS_TOKEN: 'metrics-0123456789abcdef' };
    expectRefusal(prod, 'SMTP_URL');
    assert.equal(loadConfig({ ...prod, MAIL_OUTBOX: 'true' }).mailOutbox, true);
    assert.equal(loadConfig({ ...prod, SMTP_URL: 'smtp://mail.example.com:587' }).smtpUrl, 'smtp://mail.example.com:587');
    const mail = { ...prod, MAIL_OUTBOX: 'true' };
    expectRefusal({ ...mail, METRICS_TOKEN: '' }, 'METRICS_TOKEN');
    expectRefusal({ ...mail, METRICS_TOKEN: 'short' }, 'METRICS_TOKEN');
    expectRefusal({ ...mail, METRICS: 'maybe' }, 'METRICS');
    const off = loadConfig({ ...mail, METRICS_TOKEN: '', METRICS: 'off' });
    assert.equal(off.metricsEnabled, false);
    // Development keeps working with nothing set: the outbox and open metrics.
    const dev = loadConfig({ GATEHOUSE_SECRET: STRONG });
    assert.equal(dev.mailOutbox, true);
    assert.equal(dev.metricsEnabled, true);
  });

  it('names DATABASE_URL, REDIS_URL or SMTP_URL when it is not a URL, without printing it', () => {
    for (const [variable, value] of [
      ['DATABASE_URL', 'postgres://u:p@ss:w0rd@host:x/db'],
      ['REDIS_URL', 'redis://:pw@host:99999999'],
      ['SMTP_URL', 'smtp://u:pw@host:port'],
    ] as const) {
      assert.throws(
        () => loadConfig({ GATEHOUSE_SECRET: STRONG, [variable]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === variable && /not a valid URL/.test(err.message) && !err.message.includes(value),
      );
    }
  });
});
