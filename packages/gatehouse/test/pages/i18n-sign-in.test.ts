// The sign-in pages in Korean for a browser that asks for it (Accept-Language), and the language switch that
// turns them English for good on this browser, driven in headless Chromium.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { PASSWORD, uniqueEmail } from '../helpers/http.ts';
import { forbidDialogs, launchBrowser, screenshot, startPageServer, type PageServer } from '../helpers/browser.ts';

describe('pages: sign-in in Korean, and the language switch', () => {
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

  /** A browser whose language is Korean: it sends Accept-Language: ko-KR. */
  const koreanContext = (): Promise<BrowserContext> => browser.newContext({ locale: 'ko-KR', viewport: { width: 1000, height: 740 } });

  it('shows /login, /register and /forgot-password in Korean for Accept-Language ko-KR', async () => {
    const context = await koreanContext();
    const page = await context.newPage();
    const dialogs = forbidDialogs(page);

    const login = await page.goto(`${server.origin}/login`);
    assert.match(String(await login!.request().headerValue('accept-language')), /^ko-KR/);
    assert.equal(login!.headers()['content-language'], 'ko');
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    assert.equal(await page.locator('h1').innerText(), '로그인');
    assert.equal(await page.title(), `로그인 · ${server.config.brandName}`);
    await page.getByLabel('이메일', { exact: true }).waitFor();
    await page.getByLabel('비밀번호', { exact: true }).waitFor();
    await page.getByRole('button', { name: '로그인', exact: true }).waitFor();
    await page.getByRole('link', { name: '비밀번호를 잊으셨나요?' }).waitFor();
    // passkeys.js gets its words from the page, in the page's language.
    assert.equal(await page.locator('[data-passkey-login]').getAttribute('data-msg-failed'), '문제가 생겼습니다. 다시 시도하세요.');
    assert.match(String(await page.locator('[data-passkey-login]').getAttribute('data-msg-cancelled')), /취소/);
    await screenshot(page, 'ko-login');

    await page.goto(`${server.origin}/register`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    assert.equal(await page.locator('h1').innerText(), '계정 만들기');
    await page.getByLabel('이름').waitFor();
    assert.match(await page.locator('#password-hint').innerText(), /8~\d+자/);
    await page.getByRole('button', { name: '계정 만들기', exact: true }).waitFor();

    await page.goto(`${server.origin}/forgot-password`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    assert.equal(await page.locator('h1').innerText(), '비밀번호를 잊으셨나요?');
    await page.getByRole('button', { name: '링크 보내기' }).waitFor();
    assert.deepEqual(dialogs, []);
    await context.close();
  });

  it('says a wrong password in Korean, on the password field', async () => {
    const email = uniqueEmail('ko-wrong');
    await server.app.inject({ method: 'POST', url: '/auth/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: PASSWORD }) });
    const context = await koreanContext();
    const page = await context.newPage();
    await page.goto(`${server.origin}/login`);
    await page.getByLabel('이메일', { exact: true }).fill(email);
    await page.getByLabel('비밀번호', { exact: true }).fill('not the password at all');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${server.origin}/login` && r.request().method() === 'POST'),
      page.getByRole('button', { name: '로그인', exact: true }).click(),
    ]);
    await page.waitForLoadState();
    assert.equal(response.status(), 401);
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    const password = page.getByLabel('비밀번호', { exact: true });
    assert.equal(await password.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator(`#${await password.getAttribute('aria-describedby')}`).innerText(), '이메일 또는 비밀번호가 올바르지 않습니다');
    // An empty form: the field errors are Korean too.
    await page.getByLabel('이메일', { exact: true }).fill('');
    await page.getByRole('button', { name: '로그인', exact: true }).click();
    await page.waitForLoadState();
    assert.equal(await page.locator('#email-error').innerText(), '이메일 주소를 입력하세요');
    await context.close();
  });

  it('turns the pages English with the "English" button, and keeps them English across pages (cookie)', async () => {
    const context = await koreanContext();
    const page = await context.newPage();
    await page.goto(`${server.origin}/login`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');

    await Promise.all([page.waitForURL(`${server.origin}/login`), page.getByRole('button', { name: 'English' }).click()]);
    await page.waitForLoadState();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.locator('h1').innerText(), 'Sign in');
    assert.match(await page.locator('.flash').innerText(), /Language changed\./);
    await page.getByLabel('Email').waitFor();
    await page.getByRole('button', { name: '한국어' }).waitFor();
    const cookie = (await context.cookies(server.origin)).find((c) => c.name === 'gh_lang');
    assert.equal(cookie?.value, 'en', 'the choice is remembered on this browser');
    assert.equal(cookie?.httpOnly, true);

    // The browser still asks for Korean; the choice wins on every page.
    const register = await page.goto(`${server.origin}/register`);
    assert.match(String(await register!.request().headerValue('accept-language')), /^ko-KR/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.locator('h1').innerText(), 'Create an account');
    await page.getByRole('button', { name: 'Create account' }).waitFor();
    await page.goto(`${server.origin}/forgot-password`);
    assert.equal(await page.locator('h1').innerText(), 'Forgot your password?');

    // And back: the Korean button on the English page.
    await Promise.all([page.waitForURL(`${server.origin}/forgot-password`), page.getByRole('button', { name: '한국어' }).click()]);
    await page.waitForLoadState();
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    assert.equal(await page.locator('h1').innerText(), '비밀번호를 잊으셨나요?');
    assert.match(await page.locator('.flash').innerText(), /언어를 바꿨습니다/);
    await context.close();
  });
});
