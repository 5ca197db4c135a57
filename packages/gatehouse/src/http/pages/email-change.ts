// The pages the e-mail change's links open: the confirmation sent to the new address, and "this wasn't me" sent
// to the old one. Opening a link changes nothing (mail scanners open links too); the button's POST does.
import { confirmEmailChange, revertEmailChange } from '../../users/email-change.ts';
import { clearAuthCookies } from '../cookies.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { csrfInput, formError, hidden } from './layout.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { formField, queryField, refusal } from './page-request.ts';

export function emailChangePages(app: App, kit: PageKit): void {
  const { ctx, pages } = kit;
  const button = (action: string, label: string) => (csrf: string, token: string) =>
    `<form method="post" action="${action}">${csrfInput(csrf)}${hidden('token', token)}<button type="submit">${label}</button></form>`;
  const confirmButton = button('/email-change', 'Use this address');
  const revertButton = button('/email-change/revert', 'This was not me: undo it and sign everyone out');
  const failed = (message: string) => () => `${formError(message)}<p><a href="/account">Go to your account</a></p>`;

  app.get('/email-change', { schema: shows([], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    reply.header('referrer-policy', 'no-referrer');
    return kit.show(request, reply, null, { title: 'Confirm your new address', body: (csrf) => `<p>Confirm that this is the new e-mail address of your account.</p>${confirmButton(csrf, token)}` });
  });

  app.post('/email-change', { schema: posts(form({ token: f.token }), [400, 403, 409]) }, async (request, reply) => {
    pages.checkCsrf(request);
    try {
      const user = await confirmEmailChange(ctx, formField(request.body, 'token', 200), clientInfo(request));
      return pages.redirect(reply, '/account', { kind: 'ok', text: `Your e-mail address is now ${user.email}.` });
    } catch (err) {
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return kit.show(request, reply, null, { title: 'Address not changed', status: shown.status, body: failed(shown.message) });
    }
  });

  app.get('/email-change/revert', { schema: shows([], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    reply.header('referrer-policy', 'no-referrer');
    return kit.show(request, reply, null, {
      title: 'Was this you?',
      body: (csrf) => `<p>If you did not ask to change your account's e-mail address, undo it: your old address comes back, every session is signed out, and we e-mail you a link to choose a new password.</p>${revertButton(csrf, token)}`,
    });
  });

  app.post('/email-change/revert', { schema: posts(form({ token: f.token }), [400, 403]) }, async (request, reply) => {
    pages.checkCsrf(request);
    try {
      await revertEmailChange(ctx, formField(request.body, 'token', 200), clientInfo(request));
      clearAuthCookies(reply, ctx.config);
      return pages.redirect(reply, '/login', { kind: 'ok', text: 'Your address stays as it was, every session was signed out, and we have e-mailed you a link to choose a new password.' });
    } catch (err) {
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return kit.show(request, reply, null, { title: 'Link not valid', status: shown.status, body: failed(shown.message) });
    }
  });
}
