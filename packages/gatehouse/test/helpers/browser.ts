// Headless Chromium (Debian's, through playwright-core) against a Gatehouse listening on loopback.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { outboxDir } from '../../src/mail/transport.ts';
import { startTestServer, type TestServer, type TestServerOptions } from './app.ts';
import { linkIn, readOutbox } from './mail.ts';
import { freePort } from './process.ts';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export { freePort };

export interface PageServer extends TestServer {
  /** http://127.0.0.1:<port>, also the server's PUBLIC_URL, so e-mailed links open here. */
  origin: string;
}

/**
 * A test server on a real loopback port whose PUBLIC_URL is that address. `localhost`: the origin is
 * http://localhost:<port>, for WebAuthn, which refuses an IP address as the relying party id.
 */
export async function startPageServer(options: TestServerOptions & { port?: number; localhost?: boolean } = {}): Promise<PageServer> {
  const port = options.port ?? (await freePort());
  const origin = `http://${options.localhost ? 'localhost' : '127.0.0.1'}:${port}`;
  const server = await startTestServer({ ...options, env: { PUBLIC_URL: origin, ...options.env } });
  await server.app.listen({ host: '127.0.0.1', port });
  return Object.assign(server, { origin });
}

/** The newest link of this path e-mailed to `to`, once the background mail work is done. */
export async function mailedLink(server: TestServer, to: string, pathname: string): Promise<string> {
  await server.runtime.ctx.background.drain();
  const mails = (await readOutbox(outboxDir(server.config))).filter((m) => m.to === to);
  if (!mails.length) throw new Error(`no mail to ${to}`);
  return linkIn(mails[mails.length - 1]!, pathname).href;
}

/** Fails the test if the page ever opens a dialog it did not ask for (an injected alert would). */
export function forbidDialogs(page: Page): string[] {
  const opened: string[] = [];
  page.on('dialog', (dialog) => {
    opened.push(dialog.message());
    void dialog.dismiss();
  });
  return opened;
}

const SCREENSHOTS = fileURLToPath(new URL('../../../../docs/screenshots/', import.meta.url));

/** Saves docs/screenshots/<name>.png at 375 px and desktop width, only with SCREENSHOTS=1 (CI leaves the tree clean). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const size = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 740 });
  await page.screenshot({ path: `${SCREENSHOTS}${name}-mobile.png`, fullPage: true });
  await page.setViewportSize({ width: 1000, height: 740 });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
  if (size) await page.setViewportSize(size);
}

export async function newContext(browser: Browser, options: { javaScriptEnabled?: boolean; userAgent?: string } = {}): Promise<BrowserContext> {
  return browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true, userAgent: options.userAgent, viewport: { width: 1000, height: 740 } });
}

/** Every CSP refusal and page error the browser reports (none is expected): an answer with an error status is not one. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}
