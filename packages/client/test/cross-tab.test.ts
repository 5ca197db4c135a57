// Twenty tabs of one origin in headless Chromium, cookie mode, against a real Gatehouse: when their access
// tokens expire together, Gatehouse sees one POST /auth/refresh and every tab ends up with the new token.
// The pages load the client as an ES module (bundled from src by esbuild) from a loopback server that also
// proxies to Gatehouse, so the page, the client and the refresh cookie share one origin.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PASSWORD, startGatehouse, uniqueEmail, type Gatehouse } from './helpers/gatehouse.ts';

const TABS = 20;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let gatehouse: Gatehouse;
let browser: Browser;
let origin: string;
let front: Server;
let refreshes = 0;

const PAGE = `<!doctype html><meta charset="utf-8"><title>tab</title>
<script type="module">
import { createClient } from '/client.js';
window.gh = createClient({ baseUrl: location.origin, mode: 'cookie' });
window.ghReady = true;
</script>`;

before(async () => {
  gatehouse = await startGatehouse({ RATE_LIMIT_IP: '100000/1m' });
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const script = bundle.outputFiles[0]!.text;
  front = createServer(async (req, res) => {
    if (req.url === '/' || req.url === '/index.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (req.url === '/client.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    if (req.method === 'POST' && req.url === '/auth/refresh') refreshes += 1;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (name !== 'host' && typeof value === 'string') headers.set(name, value);
    const upstream = await fetch(`${gatehouse.url}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const out: Record<string, string | string[]> = {};
    upstream.headers.forEach((value, name) => {
      if (name !== 'set-cookie' && name !== 'content-encoding' && name !== 'content-length' && name !== 'transfer-encoding') out[name] = value;
    });
    const cookies = upstream.headers.getSetCookie();
    if (cookies.length) out['set-cookie'] = cookies;
    res.writeHead(upstream.status, out).end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => front?.close(resolve));
  await gatehouse?.close();
});

declare global {
  interface Window {
    gh: import('../src/index.ts').GatehouseClient;
    ghReady?: boolean;
  }
}

async function openTabs(context: BrowserContext): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < TABS; i += 1) {
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.ghReady === true);
    pages.push(page);
  }
  return pages;
}

async function expireTogether(context: BrowserContext, expectLocks: boolean): Promise<void> {
  const pages = await openTabs(context);
  assert.equal(await pages[0]!.evaluate(() => typeof navigator.locks?.request === 'function'), expectLocks);
  await pages[0]!.evaluate((input) => window.gh.register(input).then(() => undefined), { email: uniqueEmail(), password: PASSWORD });
  // The other tabs resume the session from the shared cookie, one after another (as tabs opened later would).
  for (const page of pages.slice(1)) assert.equal(await page.evaluate(() => window.gh.refresh()), true);
  const before = await Promise.all(pages.map((page) => page.evaluate(() => window.gh.accessToken)));
  assert.ok(before.every((token) => typeof token === 'string'));

  gatehouse.clock.advance(gatehouse.config.accessTokenTtlMs + 1000);
  refreshes = 0;
  const statuses = await Promise.all(pages.map((page) => page.evaluate(() => window.gh.fetch('/auth/me').then((res) => res.status))));
  assert.deepEqual(statuses, Array(TABS).fill(200), 'every tab made a successful authenticated call');
  assert.equal(refreshes, 1, `Gatehouse saw ${refreshes} refreshes for ${TABS} tabs`);

  const afterTokens = await Promise.all(pages.map((page) => page.evaluate(() => window.gh.accessToken)));
  assert.equal(new Set(afterTokens).size, 1, 'every tab holds the one new access token');
  assert.ok(!before.includes(afterTokens[0]!));
  // And the shared token works on its own in every tab.
  const again = await Promise.all(pages.map((page) => page.evaluate(() => window.gh.fetch('/auth/me').then((res) => res.status))));
  assert.deepEqual(again, Array(TABS).fill(200));
  assert.equal(refreshes, 1);

  // Logging out in one tab ends the session in all of them.
  await pages[3]!.evaluate(() => window.gh.logout());
  await pages[0]!.waitForFunction(() => window.gh.accessToken === null);
  const signedIn = await Promise.all(pages.map((page) => page.evaluate(() => window.gh.isAuthenticated)));
  assert.deepEqual(signedIn, Array(TABS).fill(false));
}

describe('cross-tab refresh in Chromium (cookie mode)', () => {
  it(`${TABS} tabs with Web Locks: one refresh, every tab gets the new token`, async () => {
    const context = await browser.newContext();
    try {
      await expireTogether(context, true);
    } finally {
      await context.close();
    }
  });

  it(`${TABS} tabs without Web Locks (BroadcastChannel election): one refresh as well`, async () => {
    const context = await browser.newContext();
    // A string, not a function: tsx would wrap a function's inner arrows in a helper the page does not have.
    await context.addInitScript("Object.defineProperty(Navigator.prototype, 'locks', { get() { return undefined; }, configurable: true });");
    try {
      await expireTogether(context, false);
    } finally {
      await context.close();
    }
  });

  it('crossTab: false keeps each tab on its own (one refresh per tab)', async () => {
    const context = await browser.newContext();
    try {
      const pages: Page[] = [];
      for (let i = 0; i < 3; i += 1) {
        const page = await context.newPage();
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => window.ghReady === true);
        await page.evaluate(() => {
          const Client = window.gh.constructor as typeof import('../src/index.ts').GatehouseClient;
          window.gh.close();
          window.gh = new Client({ baseUrl: location.origin, mode: 'cookie', crossTab: false });
        });
        pages.push(page);
      }
      await pages[0]!.evaluate((input) => window.gh.register(input).then(() => undefined), { email: uniqueEmail(), password: PASSWORD });
      refreshes = 0;
      for (const page of pages.slice(1)) assert.equal(await page.evaluate(() => window.gh.refresh()), true);
      assert.equal(refreshes, 2);
      assert.equal(await pages[0]!.evaluate(() => window.gh.accessToken !== null), true);
    } finally {
      await context.close();
    }
  });
});
