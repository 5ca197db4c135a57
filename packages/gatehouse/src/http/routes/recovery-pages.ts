// The plain pages e-mail links open. Opening a link never uses the token (mail scanners prefetch links):
// the page shows a button or a form, and only its POST acts.
import type { FastifyReply } from 'fastify';
import type { Context } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { escapeHtml } from '../../html.ts';
import { resetPassword, verifyEmail } from '../../recovery/service.ts';
import { clientInfo, type App } from '../types.ts';

interface PageQuery {
  token?: string;
}
interface PageBody {
  token?: string;
  password?: string;
}

function page(ctx: Context, reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  const brand = escapeHtml(ctx.config.brandName);
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    // The token is in this page's URL: never send it to another site in a Referer.
    .header('referrer-policy', 'no-referrer')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · ${brand}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5">
<p><strong>${brand}</strong></p><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`);
}

function tokenInput(token: string): string {
  return `<input type="hidden" name="token" value="${escapeHtml(token)}">`;
}

function messageOf(err: unknown): string | null {
  if (err instanceof AppError && (err.code === 'invalid_or_expired_token' || err.code === 'validation_failed')) {
    return err.details?.[0]?.message ?? 'This link is invalid, was already used or has expired. Ask for a new one.';
  }
  return null;
}

export function recoveryPages(app: App, ctx: Context): void {
  // Plain HTML forms post application/x-www-form-urlencoded; only these page routes accept it.
  app.register(async (pages) => {
    pages.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body.toString())));
    });

    pages.get<{ Querystring: PageQuery }>('/verify-email', async (request, reply) => {
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      return page(ctx, reply, 200, 'Confirm your email address', `<form method="post" action="/verify-email">${tokenInput(token)}<button type="submit">Confirm my email address</button></form>`);
    });

    pages.post<{ Body: PageBody }>('/verify-email', async (request, reply) => {
      try {
        const user = await verifyEmail(ctx, String(request.body?.token ?? ''), clientInfo(request));
        return page(ctx, reply, 200, 'Email address confirmed', `<p>${escapeHtml(user.email)} is confirmed. You can close this page.</p>`);
      } catch (err) {
        const message = messageOf(err);
        if (message === null) throw err;
        return page(ctx, reply, 400, 'Link not valid', `<p>${escapeHtml(message)}</p>`);
      }
    });

    const resetForm = (token: string, error?: string) =>
      `${error ? `<p role="alert" style="color:#b00020">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/reset-password">${tokenInput(token)}
<label for="password">New password</label><br>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="${ctx.config.passwordMinLength}" maxlength="${ctx.config.passwordMaxLength}" required><br><br>
<button type="submit">Set new password</button></form>`;

    pages.get<{ Querystring: PageQuery }>('/reset-password', async (request, reply) => {
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      return page(ctx, reply, 200, 'Choose a new password', resetForm(token));
    });

    pages.post<{ Body: PageBody }>('/reset-password', async (request, reply) => {
      const token = String(request.body?.token ?? '');
      try {
        await resetPassword(ctx, token, String(request.body?.password ?? ''), clientInfo(request));
        return page(ctx, reply, 200, 'Password changed', '<p>Your password is changed and every session was signed out. Sign in with the new password.</p>');
      } catch (err) {
        if (err instanceof AppError && err.code === 'validation_failed') return page(ctx, reply, 400, 'Choose a new password', resetForm(token, messageOf(err)!));
        const message = messageOf(err);
        if (message === null) throw err;
        return page(ctx, reply, 400, 'Link not valid', `<p>${escapeHtml(message)}</p>`);
      }
    });
  });
}
