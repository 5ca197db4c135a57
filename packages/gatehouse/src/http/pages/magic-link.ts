// Signing in by e-mail on the pages: "e-mail me a link" from /login, the page the link opens (which asks for a
// click: a mail scanner opening the link signs nobody in and uses nothing up), and the code form for when the
// mail is read on another device. An account with a second factor continues to the second step.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestMagicLink, signInWithMagicLink, type MagicProof } from '../../methods/magic-link/service.ts';
import { answerSignIn } from '../sign-in-answer.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { csrfInput, field, formError, hidden } from './layout.ts';
import type { MfaStep } from './mfa-sign-in.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { formField, queryField, refusal } from './page-request.ts';

const SENT = 'If that address can sign in here, a link and a code are on their way. Open the link, or enter the code below.';

export function magicLinkPages(app: App, kit: PageKit, secondStep: MfaStep): void {
  const { ctx, pages } = kit;

  const codeForm = (csrf: string, v: { email: string; error?: string; problem?: string }) => `${formError(v.problem)}
<p>${SENT}</p>
<form method="post" action="/login/magic-link/code" novalidate>${csrfInput(csrf)}${hidden('email', v.email)}
${field({ name: 'code', label: 'Code from the e-mail', error: v.error, autocomplete: 'one-time-code', inputmode: 'numeric', required: true, maxlength: 10 })}
<button type="submit">Sign in</button></form>
<p><a href="/login">Back to sign in</a></p>`;

  /** Signs the browser in with a link or code, or shows the second step; a refusal is shown on `again`. */
  async function finish(request: FastifyRequest, reply: FastifyReply, proof: MagicProof, again: (message: string, status: number) => Promise<FastifyReply>) {
    try {
      const result = await signInWithMagicLink(ctx, proof, 'session', clientInfo(request));
      const redirectTo = pages.returnTo(result.redirectTo ?? '/account');
      if (result.kind === 'mfa_required') return secondStep.show(request, reply, result, redirectTo);
      answerSignIn(ctx, reply, result, 'session');
      return kit.continueTo(request, reply, redirectTo);
    } catch (err) {
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return again(shown.message, shown.status);
    }
  }

  app.post('/login/magic-link', { schema: posts(form({ email: f.email }), [400, 403, 429], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    try {
      await requestMagicLink(ctx, { email }, clientInfo(request));
    } catch (err) {
      const shown = refusal(err, reply);
      if (!shown) throw err;
      return pages.redirect(reply, '/login', { kind: 'error', text: shown.message });
    }
    return kit.show(request, reply, null, { title: 'Check your inbox', body: (csrf) => codeForm(csrf, { email }) });
  });

  app.post('/login/magic-link/code', { schema: posts(form({ email: f.email, code: f.code }), [400, 403, 429], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    const email = formField(request.body, 'email', 320);
    const code = formField(request.body, 'code', 20);
    return finish(request, reply, { email, code }, (message, status) => kit.show(request, reply, null, { title: 'Check your inbox', status, body: (csrf) => codeForm(csrf, { email, error: message }) }));
  });

  app.get('/magic-link', { schema: shows([], { token: f.token }) }, async (request, reply) => {
    const token = queryField(request, 'token', 200);
    reply.header('referrer-policy', 'no-referrer');
    return kit.show(request, reply, null, {
      title: 'Sign in',
      body: (csrf) => `<p>Sign in with the link from your e-mail.</p><form method="post" action="/magic-link">${csrfInput(csrf)}${hidden('token', token)}<button type="submit">Sign in</button></form>`,
    });
  });

  app.post('/magic-link', { schema: posts(form({ token: f.token }), [400, 403, 429], true) }, async (request, reply) => {
    pages.checkCsrf(request);
    return finish(request, reply, { token: formField(request.body, 'token', 200) }, (message, status) =>
      kit.show(request, reply, null, { title: 'Sign-in link', status, body: () => `${formError(message)}<p><a href="/login">Back to sign in</a></p>` }),
    );
  });
}
