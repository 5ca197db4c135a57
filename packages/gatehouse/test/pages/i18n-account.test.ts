// /account and /admin in Korean in headless Chromium: the browser's Accept-Language picks the language until
// the user chooses one in the account's Language form; that choice is theirs (users.locale), so another browser
// asking for Korean still gets English, and GET /auth/me says so. Admin pages show dates in the page's language.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { completeSignIn } from '../../src/sign-in/complete-sign-in.ts';
import { createUser } from '../../src/users/service.ts';
import type { User } from '../../src/users/store.ts';
import { PASSWORD, call, login, uniqueEmail } from '../helpers/http.ts';
import { forbidDialogs, launchBrowser, screenshot, startPageServer, type PageServer } from '../helpers/browser.ts';

let server: PageServer;
let browser: Browser;

before(async () => {
  server = await startPageServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh browser that asks for Korean, signed in as `user` with a session of its own (no gh_lang cookie). */
async function koreanBrowser(user: User): Promise<BrowserContext> {
  const signedIn = await completeSignIn(server.runtime.ctx, { user, amr: ['pwd'], mode: 'session', client: { ip: '127.0.0.1', userAgent: 'I18n Test Browser/1.0' } });
  assert.equal(signedIn.kind, 'signed_in');
  const { issued } = signedIn as Extract<typeof signedIn, { kind: 'signed_in' }>;
  const context = await browser.newContext({ locale: 'ko-KR', extraHTTPHeaders: { 'Accept-Language': 'ko-KR,ko;q=0.9' }, viewport: { width: 1000, height: 740 } });
  await context.addCookies([{ name: 'gh_session', value: issued.sessionToken!, url: server.origin }]);
  return context;
}

/** A medium date as Korean writes it ("2025. 3. 14."), never the English "14 Mar 2025". */
const KOREAN_DATE = /\d{4}\. \d{1,2}\. \d{1,2}\./;
const ENGLISH_DATE = /\d{1,2} [A-Z][a-z]{2} \d{4}/;

describe('pages: account and admin in Korean', () => {
  it('shows /account in Korean for Accept-Language ko-KR, and keeps the English the user chooses in another browser', async () => {
    const email = uniqueEmail('i18n-account');
    const user = await createUser(server.runtime.ctx, { email, password: PASSWORD, name: 'Sejong', emailVerified: true });

    const first = await koreanBrowser(user);
    const page = await first.newPage();
    const dialogs = forbidDialogs(page);
    const response = await page.goto(`${server.origin}/account`);
    assert.equal(response?.status(), 200);
    assert.equal(response?.headers()['content-language'], 'ko');
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    assert.equal(await page.locator('h1').innerText(), '내 계정');
    const headings = await page.locator('h2').allInnerTexts();
    for (const heading of ['프로필', '언어', '이메일 주소', '비밀번호', '2단계 인증', '패스키', '로그인된 기기', 'API 키', '계정 삭제']) {
      assert.ok(headings.includes(heading), `the heading "${heading}" in ${JSON.stringify(headings)}`);
    }
    assert.equal(await page.getByRole('button', { name: '비밀번호 변경' }).count(), 1);
    const sessions = page.locator('section[aria-labelledby="sessions-h"]');
    assert.match(await sessions.innerText(), /현재 브라우저/);
    assert.match(await sessions.innerText(), KOREAN_DATE);
    await screenshot(page, 'ko-account');

    // The Language form: the page's language is the one selected; choosing English makes it the user's.
    const language = page.locator('section#language').getByLabel('언어');
    assert.equal(await language.inputValue(), 'ko');
    assert.deepEqual(await language.locator('option').allInnerTexts(), ['English', '한국어']);
    await language.selectOption('en');
    await page.locator('section#language').getByRole('button', { name: '언어 변경' }).click();
    await page.waitForURL(`${server.origin}/account`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.locator('h1').innerText(), 'Your account');
    assert.match(await page.locator('.flash').innerText(), /Language changed\./);
    assert.equal(await page.locator('section#language').getByLabel('Language').inputValue(), 'en');
    assert.equal((await server.runtime.ctx.users.findByEmail(email))!.locale, 'en');
    assert.deepEqual(dialogs, []);
    await first.close();

    // Another browser, still asking for Korean and without the switch's cookie: the user's preference wins.
    const second = await koreanBrowser(user);
    const again = await second.newPage();
    const reloaded = await again.goto(`${server.origin}/account`);
    assert.equal(reloaded?.headers()['content-language'], 'en');
    assert.equal((await second.cookies()).find((c) => c.name === 'gh_lang'), undefined, 'no cookie: the preference comes from the account');
    assert.equal(await again.locator('html').getAttribute('lang'), 'en');
    assert.equal(await again.locator('h1').innerText(), 'Your account');
    const english = await again.locator('h2').allInnerTexts();
    for (const heading of ['Profile', 'Language', 'Password', 'Two-step verification', 'Where you are signed in']) {
      assert.ok(english.includes(heading), `the heading "${heading}" in ${JSON.stringify(english)}`);
    }
    assert.match(await again.locator('section[aria-labelledby="sessions-h"]').innerText(), ENGLISH_DATE);
    await second.close();

    const token = (await login(server.app, email)).body.accessToken as string;
    // The preference is in the account's export (the contract's user object has no locale).
    const exported = await call(server.app, 'GET', '/auth/export', { token, headers: { 'accept-language': 'ko-KR' } });
    assert.equal(exported.statusCode, 200, exported.body);
    assert.equal(exported.json().user.locale, 'en');
  });

  it('lists users on /admin in Korean, with dates written the Korean way', async () => {
    const admin = await createUser(server.runtime.ctx, { email: uniqueEmail('i18n-admin'), password: PASSWORD, role: 'admin', name: 'Admin Kim', emailVerified: true });
    const marker = `Hangul${Date.now()}`;
    await createUser(server.runtime.ctx, { email: uniqueEmail('i18n-listed'), password: PASSWORD, name: `${marker} Lee` });

    const context = await koreanBrowser(admin);
    const page = await context.newPage();
    const dialogs = forbidDialogs(page);
    const response = await page.goto(`${server.origin}/admin?q=${marker}`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    assert.equal(await page.locator('h1').innerText(), '사용자');
    assert.equal(await page.getByLabel('이름 또는 이메일로 검색').inputValue(), marker);
    const rows = page.locator('ul.users > li');
    assert.equal(await rows.count(), 1);
    const row = await rows.innerText();
    assert.match(row, new RegExp(`${marker} Lee`));
    assert.match(row, /미인증/);
    assert.match(row, new RegExp(`가입 ${KOREAN_DATE.source}`));
    await screenshot(page, 'ko-admin');
    assert.doesNotMatch(row, ENGLISH_DATE);
    assert.match(row, /최근 로그인 –/, 'never signed in');
    assert.equal(await rows.getByRole('button', { name: '역할 변경' }).count(), 1);
    const joined = await rows.locator('time').first().getAttribute('datetime');
    assert.ok(joined && !Number.isNaN(Date.parse(joined)), 'the exact instant stays machine-readable');

    await page.getByRole('link', { name: '감사 로그' }).click();
    await page.waitForURL(`${server.origin}/admin/audit-log`);
    assert.equal(await page.locator('h1').innerText(), '감사 로그');
    assert.match(await page.locator('ul.events').innerText(), KOREAN_DATE);
    assert.deepEqual(dialogs, []);
    await context.close();
  });
});
