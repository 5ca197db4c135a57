// /account: profile, language, password, two-step verification, sessions, linked identities and API keys, each a plain
// form. What can take over the account needs a recent sign-in (step-up.ts); a role that needs a second factor
// sees only how to add one until it has one.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createApiKey, listApiKeys, revokeApiKey } from '../../api-keys/service.ts';
import { AppError, validationError } from '../../errors.ts';
import { confirmTotp, enrolTotp, listFactors, regenerateRecoveryCodes, removeFactor } from '../../factors/service.ts';
import { escapeHtml } from '../../html.ts';
import { LOCALE_NAMES, LOCALES, type MessageKey, type Translator } from '../../i18n/index.ts';
import { listIdentities, unlinkIdentity } from '../../methods/social/service.ts';
import { resendVerification } from '../../recovery/service.ts';
import { endOwnSession, listSessions, logoutEverywhere } from '../../sessions/service.ts';
import { changePassword, updateProfile } from '../../users/service.ts';
import { requestEmailChange } from '../../users/email-change.ts';
import { exportAccount } from '../../users/export-account.ts';
import { deleteAccount } from '../../users/delete-account.ts';
import { normalizeEmail } from '../../users/policy.ts';
import { Type } from 'typebox';
import { clearAuthCookies } from '../cookies.ts';
import { AccountExportSchema } from '../schemas.ts';
import { clientInfo, type App } from '../types.ts';
import type { PageKit } from './kit.ts';
import { form, formFields as f, posts, shows } from './page-answers.ts';
import { csrfInput, date, errorsByField, field, formError, hidden } from './layout.ts';
import { formField, queryField, refusal, type SignedIn } from './page-request.ts';
import { PendingEnrolments, enrolBody, factorSection, qrSvg } from './factors.ts';
import { markup, tHtml } from './markup.ts';
import { listPasskeys, removePasskey, renamePasskey } from '../../methods/passkeys/service.ts';
import { PASSKEY_SCRIPTS } from './assets.ts';
import { passkeySection } from './passkeys.ts';
import { enrolNotice, mustEnrol, type StepUp } from './step-up.ts';
import { connectedAppsSection } from './connected-apps.ts';

type Section = 'profile' | 'password' | 'sessions' | 'identities' | 'keys' | 'verify' | 'mfa' | 'passkeys' | 'email' | 'export' | 'delete';

/** Where the "Confirm it's you" page sends the browser back to, per section. */
const SECTION_RETURN: Partial<Record<Section, string>> = {
  password: '/account#password',
  sessions: '/account#sessions',
  identities: '/account#identities',
  keys: '/account#api-keys',
  mfa: '/account#mfa',
  passkeys: '/account#passkeys',
  email: '/account#email',
  export: '/account#data',
  delete: '/account#delete',
};

/** What each of the page's forms posts, for the document. */
const FORMS = {
  '/account/profile': form({ name: f.name }),
  '/account/password': form({ currentPassword: f.password, newPassword: f.newPassword }),
  '/account/verify-email': form({}),
  '/account/sessions/revoke': form({ id: f.id }),
  '/account/sessions/revoke-all': form({}),
  '/account/identities/unlink': form({ provider: f.text('The provider to unlink', 64) }),
  '/account/api-keys': form({ name: f.text('The key name: 1 to 100 characters after trimming', 1000), scopes: f.text('Scopes, separated by spaces or commas', 1000) }, ['scopes']),
  '/account/api-keys/revoke': form({ id: f.id }),
  '/account/mfa/totp': form({ name: f.text('A name for the app: 1 to 100 characters after trimming', 1000) }, ['name']),
  '/account/mfa/totp/confirm': form({ id: f.id, code: f.code }),
  '/account/mfa/remove': form({ id: f.id }),
  '/account/mfa/recovery-codes': form({}),
  '/account/passkeys/rename': form({ id: f.id, name: f.text('The new name: 1 to 100 characters after trimming', 1000) }),
  '/account/passkeys/remove': form({ id: f.id }),
  '/account/email': form({ email: f.email }),
  '/account/export': form({}),
  '/account/delete': form({ email: f.text('The account\'s e-mail address, typed to confirm', 320) }),
};

/** The export's answer: the same JSON document as GET /auth/export, as a download. */
const EXPORT_DOWNLOAD = Type.Intersect([AccountExportSchema], { description: 'The account export, the same document as GET /auth/export, with content-disposition: attachment; filename="gatehouse-export.json"' });

interface ActionOptions {
  /** Needs a sign-in within REAUTH_MAX_AGE; else the "Confirm it's you" page. */
  recent?: boolean;
  /** Allowed to a role that must add a second factor first (MFA_REQUIRED_ROLES). */
  enrolment?: boolean;
  /** Statuses besides 403, 404 and 409 it may answer with. */
  statuses?: number[];
  /** Where to come back to after confirming it's you, when not the section's. */
  returnTo?: (request: FastifyRequest) => string;
  /** Answers 200 with a JSON download besides its pages. */
  download?: boolean;
}

/** A form that came back: which section, what was typed (never passwords) and what is wrong. */
interface Problem {
  section: Section;
  values?: Record<string, string>;
  errors?: Record<string, string>;
  message?: string;
}

export function accountPages(app: App, kit: PageKit, stepUp: StepUp): void {
  const { ctx, pages } = kit;
  const enrolments = new PendingEnrolments(ctx);

  async function signedInOr303(request: FastifyRequest, reply: FastifyReply): Promise<SignedIn | null> {
    const viewer = await pages.viewer(request);
    if (!viewer) {
      reply.header('cache-control', 'no-store').redirect('/login?redirect_to=%2Faccount', 303);
      return null;
    }
    return viewer;
  }

  async function accountPage(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, problem?: Problem & { status: number }) {
    const { user } = viewer;
    const t = kit.t(request);
    const at = (s: Section) => (problem?.section === s ? problem : undefined);
    const errors = (s: Section) => at(s)?.errors ?? {};
    const values = (s: Section) => at(s)?.values ?? {};
    const message = (s: Section) => formError(at(s)?.message);
    const factors = await listFactors(ctx, user.id);
    const mfa = (csrf: string, notice?: string) =>
      factorSection(t, csrf, { ...factors, errors: errors('mfa'), values: values('mfa'), message: at('mfa')?.message === notice ? undefined : at('mfa')?.message, notice });

    // MFA_REQUIRED_ROLES: nothing but the ways to a second factor (an authenticator app or a passkey), and why.
    if (await mustEnrol(ctx, viewer)) {
      const body = (csrf: string) => `${mfa(csrf, enrolNotice(t))}\n${passkeySection(t, csrf, { passkeys: [] })}`;
      return kit.show(request, reply, viewer, { title: t('account.title'), status: problem?.status, body, scripts: PASSKEY_SCRIPTS });
    }
    const [sessions, identities, keys, passkeys] = await Promise.all([
      listSessions(ctx, user.id),
      listIdentities(ctx, user.id),
      listApiKeys(ctx, user.id),
      listPasskeys(ctx, user.id),
    ]);

    const connectedApps = await connectedAppsSection(ctx, t, user.id);
    const h = (key: MessageKey) => escapeHtml(t(key));
    const when = (ms: number | string | null) => markup(date(t, ms));
    const languages = LOCALES.map((l) => `<option value="${l}" lang="${l}"${l === t.locale ? ' selected' : ''}>${escapeHtml(LOCALE_NAMES[l])}</option>`).join('');
    const body = (csrf: string) => `
<section aria-labelledby="profile-h"><h2 id="profile-h">${h('account.profile.heading')}</h2>
<p>${escapeHtml(user.email)} · ${user.emailVerifiedAt === null ? `<strong>${h('account.profile.notConfirmed')}</strong>` : h('account.profile.confirmed')} · ${escapeHtml(t('account.profile.role', { role: user.role }))}</p>
${user.emailVerifiedAt === null ? `${message('verify')}<form method="post" action="/account/verify-email" class="inline">${csrfInput(csrf)}<button type="submit" class="secondary">${h('account.profile.resendVerification')}</button></form>` : ''}
${message('profile')}
<form method="post" action="/account/profile" novalidate>${csrfInput(csrf)}
${field({ name: 'name', label: t('account.profile.name'), value: values('profile').name ?? user.name, error: errors('profile').name, autocomplete: 'name', required: true, maxlength: 100 })}
<button type="submit">${h('account.profile.save')}</button></form></section>

<section aria-labelledby="language-h" id="language"><h2 id="language-h">${h('account.language.heading')}</h2>
<form method="post" action="/language">${csrfInput(csrf)}${hidden('return_to', '/account')}
<div class="field"><label for="language-lang">${h('account.language.label')}</label>
<p class="hint" id="language-lang-hint">${h('account.language.hint')}</p><select id="language-lang" name="lang" aria-describedby="language-lang-hint">${languages}</select></div>
<button type="submit">${h('account.language.submit')}</button></form></section>

<section aria-labelledby="email-h" id="email"><h2 id="email-h">${h('account.email.heading')}</h2>
${message('email')}
<form method="post" action="/account/email" novalidate>${csrfInput(csrf)}
${field({ name: 'email', idPrefix: 'new-', label: t('account.email.newLabel'), type: 'email', value: values('email').email, error: errors('email').email, autocomplete: 'email', required: true, maxlength: 320, hint: t('account.email.hint') })}
<button type="submit">${h('account.email.submit')}</button></form></section>

<section aria-labelledby="password-h" id="password"><h2 id="password-h">${h('account.password.heading')}</h2>
${message('password')}
${user.passwordHash === null ? `<p>${h('passkeySignup.noPassword')} <a href="/forgot-password">${h('passkeySignup.setPassword')}</a></p>` : `<form method="post" action="/account/password" novalidate>${csrfInput(csrf)}
${field({ name: 'currentPassword', label: t('account.password.current'), type: 'password', error: errors('password').currentPassword, autocomplete: 'current-password', required: true })}
${field({ name: 'newPassword', label: t('account.password.new'), type: 'password', error: errors('password').newPassword, autocomplete: 'new-password', required: true, hint: t('account.password.hint') })}
<button type="submit">${h('account.password.submit')}</button></form>`}</section>

${mfa(csrf)}

${passkeySection(t, csrf, { passkeys, errors: errors('passkeys'), values: values('passkeys'), message: at('passkeys')?.message })}

${connectedApps(csrf)}

<section aria-labelledby="sessions-h" id="sessions"><h2 id="sessions-h">${h('account.sessions.heading')}</h2>
${message('sessions')}
<ul class="rows">${sessions
      .map(
        (s) => `<li><div><strong>${escapeHtml(s.userAgent ?? t('account.sessions.unknownDevice'))}</strong>${s.id === viewer.session.id ? ` <span class="tag">${h('account.sessions.thisBrowser')}</span>` : ''}<br>
<small>${tHtml(t, 'account.sessions.details', { ip: s.ip ?? '', signedIn: when(s.createdAt), lastUsed: when(s.lastUsedAt) })}</small></div>
<form method="post" action="/account/sessions/revoke">${csrfInput(csrf)}${hidden('id', s.id)}<button type="submit" class="secondary" aria-label="${escapeHtml(s.userAgent === null ? t('account.sessions.signOutUnknown') : t('account.sessions.signOutLabel', { device: s.userAgent }))}">${h('account.sessions.signOut')}</button></form></li>`,
      )
      .join('')}</ul>
<form method="post" action="/account/sessions/revoke-all">${csrfInput(csrf)}<button type="submit" class="danger" data-confirm="${h('account.sessions.signOutEverywhereConfirm')}">${h('account.sessions.signOutEverywhere')}</button></form></section>

<section aria-labelledby="identities-h" id="identities"><h2 id="identities-h">${h('account.identities.heading')}</h2>
${message('identities')}
${identities.identities.length === 0 ? `<p>${h('account.identities.none')}</p>` : `<ul class="rows">${identities.identities
      .map(
        (i) => `<li><div><strong>${escapeHtml(i.provider)}</strong><br><small>${tHtml(t, 'account.identities.details', { email: i.email ?? '', linked: when(i.createdAt) })}</small></div>
<form method="post" action="/account/identities/unlink">${csrfInput(csrf)}${hidden('provider', i.provider)}<button type="submit" class="secondary">${h('account.identities.unlink')}</button></form></li>`,
      )
      .join('')}</ul>`}</section>

<section aria-labelledby="keys-h" id="api-keys"><h2 id="keys-h">${h('account.keys.heading')}</h2>
${message('keys')}
${keys.length === 0 ? `<p>${h('account.keys.none')}</p>` : `<ul class="rows">${keys
      .map(
        (k) => `<li><div><strong>${escapeHtml(k.name)}</strong> <code>${escapeHtml(k.prefix)}</code><br><small>${k.scopes.length ? tHtml(t, 'account.keys.detailsWithScopes', { scopes: k.scopes.join(' '), made: when(k.createdAt), lastUsed: when(k.lastUsedAt) }) : tHtml(t, 'account.keys.details', { made: when(k.createdAt), lastUsed: when(k.lastUsedAt) })}</small></div>
<form method="post" action="/account/api-keys/revoke">${csrfInput(csrf)}${hidden('id', k.id)}<button type="submit" class="danger" data-confirm="${h('account.keys.revokeConfirm')}">${h('account.keys.revoke')}</button></form></li>`,
      )
      .join('')}</ul>`}
<form method="post" action="/account/api-keys" novalidate>${csrfInput(csrf)}
${field({ name: 'name', idPrefix: 'key-', label: t('account.keys.name'), value: values('keys').name, error: errors('keys').name, required: true, maxlength: 100 })}
${field({ name: 'scopes', idPrefix: 'key-', label: t('account.keys.scopesLabel'), value: values('keys').scopes, error: errors('keys').scopes, hint: t('account.keys.scopesHint'), maxlength: 1000 })}
<button type="submit">${h('account.keys.create')}</button></form></section>

<section aria-labelledby="data-h" id="data"><h2 id="data-h">${h('account.data.heading')}</h2>
${message('export')}
<form method="post" action="/account/export">${csrfInput(csrf)}<button type="submit" class="secondary">${h('account.data.download')}</button></form></section>

<section aria-labelledby="delete-h" id="delete"><h2 id="delete-h">${h('account.delete.heading')}</h2>
<p>${h('account.delete.warning')}</p>
${message('delete')}
<form method="post" action="/account/delete" novalidate>${csrfInput(csrf)}
${field({ name: 'email', idPrefix: 'delete-', label: t('account.delete.label'), type: 'email', error: errors('delete').email, autocomplete: 'off', required: true, maxlength: 320, hint: user.email })}
<button type="submit" class="danger">${h('account.delete.submit')}</button></form></section>`;

    return kit.show(request, reply, viewer, { title: t('account.title'), status: problem?.status, body, scripts: PASSKEY_SCRIPTS });
  }

  app.get('/account', { schema: shows([], undefined, true) }, async (request, reply) => {
    const viewer = await signedInOr303(request, reply);
    return viewer ? accountPage(request, reply, viewer) : reply;
  });

  /** A POST of this page: signed in, CSRF checked, then the action; a refusal comes back in its section. */
  function action(
    path: keyof typeof FORMS,
    section: Section,
    run: (request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, t: Translator) => Promise<FastifyReply>,
    keep: string[] = [],
    options: ActionOptions = {},
  ) {
    // 403 form expired (CSRF), a second factor must be added first, or a recent sign-in is needed ("Confirm it's
    // you"); 404 the session, key, identity or factor is not the viewer's; 409 the last way to sign in, too many
    // keys or factors.
    const base = posts(FORMS[path], [403, 404, 409, ...(options.statuses ?? [])], options.statuses?.includes(200));
    const schema = options.download
      ? { ...base, produces: ['text/html', 'application/json'], response: { ...(base.response as object), 200: EXPORT_DOWNLOAD } }
      : base;
    app.post(path, { schema }, async (request, reply) => {
      pages.checkCsrf(request);
      const viewer = await signedInOr303(request, reply);
      if (!viewer) return reply;
      const t = kit.t(request);
      if (!options.enrolment && (await mustEnrol(ctx, viewer))) {
        return accountPage(request, reply, viewer, { section: 'mfa', status: 403, message: enrolNotice(t) });
      }
      try {
        if (options.recent) await stepUp.assertRecent(viewer);
        return await run(request, reply, viewer, t);
      } catch (err) {
        if (stepUp.isNeeded(err)) return stepUp.confirm(request, reply, viewer, options.returnTo?.(request) ?? SECTION_RETURN[section] ?? '/account');
        const shown = refusal(err, reply, t);
        if (!shown) throw err;
        const errors = errorsByField(t, (err as AppError).details);
        const values = Object.fromEntries(keep.map((k) => [k, formField(request.body, k, 1000)]));
        return accountPage(request, reply, viewer, { section, status: shown.status, errors, values, message: Object.keys(errors).length ? undefined : shown.message });
      }
    });
  }

  action(
    '/account/profile',
    'profile',
    async (request, reply, viewer, t) => {
      await updateProfile(ctx, viewer.user.id, { name: formField(request.body, 'name', 1000) });
      return pages.redirect(reply, '/account', { kind: 'ok', text: t('account.flash.nameSaved') });
    },
    ['name'],
  );

  action(
    '/account/password',
    'password',
    async (request, reply, viewer, t) => {
      await changePassword(
        ctx,
        viewer.user.id,
        viewer.session.id,
        { currentPassword: formField(request.body, 'currentPassword'), newPassword: formField(request.body, 'newPassword') },
        clientInfo(request),
        t.locale,
      );
      return pages.redirect(reply, '/account', { kind: 'ok', text: t('account.flash.passwordChanged') });
    },
    [],
    { recent: true },
  );

  action('/account/verify-email', 'verify', async (request, reply, viewer, t) => {
    await resendVerification(ctx, viewer.user.id, clientInfo(request), t.locale);
    return pages.redirect(reply, '/account', { kind: 'ok', text: t('account.flash.verificationSent') });
  });

  action('/account/sessions/revoke', 'sessions', async (request, reply, viewer, t) => {
    await endOwnSession(ctx, viewer.user.id, formField(request.body, 'id', 64), clientInfo(request));
    if (formField(request.body, 'id', 64) === viewer.session.id) {
      clearAuthCookies(reply, ctx.config);
      return pages.redirect(reply, '/login', { kind: 'ok', text: t('account.flash.signedOut') });
    }
    return pages.redirect(reply, '/account', { kind: 'ok', text: t('account.flash.sessionSignedOut') });
  });

  action('/account/sessions/revoke-all', 'sessions', async (request, reply, viewer, t) => {
    await logoutEverywhere(ctx, viewer.user.id, viewer.session.id, clientInfo(request));
    clearAuthCookies(reply, ctx.config);
    return pages.redirect(reply, '/login', { kind: 'ok', text: t('account.flash.signedOutEverywhere') });
  });

  action('/account/identities/unlink', 'identities', async (request, reply, viewer, t) => {
    const provider = formField(request.body, 'provider', 64);
    await unlinkIdentity(ctx, viewer.user.id, provider);
    return pages.redirect(reply, '/account', { kind: 'ok', text: t('account.flash.unlinked', { provider }) });
  });

  action(
    '/account/api-keys',
    'keys',
    async (request, reply, viewer, t) => {
      const scopes = formField(request.body, 'scopes', 1000).split(/[\s,]+/).filter(Boolean);
      const { key, secret } = await createApiKey(ctx, { userId: viewer.user.id, role: viewer.user.role }, { name: formField(request.body, 'name', 1000), scopes }, clientInfo(request));
      return pages.redirect(reply, '/account#api-keys', { kind: 'ok', text: t('account.flash.keyReady', { name: key.name }), secret });
    },
    ['name', 'scopes'],
    { recent: true },
  );

  action('/account/api-keys/revoke', 'keys', async (request, reply, viewer, t) => {
    await revokeApiKey(ctx, viewer.user.id, formField(request.body, 'id', 64), clientInfo(request));
    return pages.redirect(reply, '/account#api-keys', { kind: 'ok', text: t('account.flash.keyRevoked') });
  });

  // Adding an authenticator app: the POST makes a pending factor and sends the browser to the page that shows
  // its QR code and key (kept sealed server-side for this session, so a reload shows it again); the code typed
  // there confirms it, and the account's first factor brings its recovery codes, shown once in the flash.
  action(
    '/account/mfa/totp',
    'mfa',
    async (request, reply, viewer) => {
      const name = formField(request.body, 'name', 1000);
      const started = await enrolTotp(ctx, viewer.user, { name: name.trim() ? name : undefined });
      await enrolments.put(viewer.session.id, started.factor.id, { secret: started.secret, otpauthUrl: started.otpauthUrl, name: started.factor.name });
      return pages.redirect(reply, `/account/mfa/totp?id=${started.factor.id}`);
    },
    ['name'],
    { recent: true, enrolment: true },
  );

  async function enrolPage(request: FastifyRequest, reply: FastifyReply, viewer: SignedIn, id: string, error?: { status: number; message: string }) {
    const t = kit.t(request);
    const pending = /^[0-9a-f-]{36}$/.test(id) ? await enrolments.get(viewer.session.id, id) : null;
    if (!pending) return pages.redirect(reply, '/account#mfa', { kind: 'error', text: t('account.flash.enrolmentExpired') });
    const svg = await qrSvg(t, pending.otpauthUrl);
    return kit.show(request, reply, viewer, { title: t('factors.enrolTitle'), status: error?.status, body: (csrf) => enrolBody(t, csrf, { id, pending, svg, error: error?.message }) });
  }

  app.get('/account/mfa/totp', { schema: shows([], { id: f.id }, true) }, async (request, reply) => {
    const viewer = await signedInOr303(request, reply);
    return viewer ? enrolPage(request, reply, viewer, queryField(request, 'id', 64)) : reply;
  });

  // 401 a wrong code: the enrolment page again, with the error under the code.
  action(
    '/account/mfa/totp/confirm',
    'mfa',
    async (request, reply, viewer, t) => {
      const id = formField(request.body, 'id', 64);
      const code = formField(request.body, 'code', 64).trim();
      try {
        if (!code) throw new AppError('invalid_mfa_code', { message: t('account.mfa.enterCode') });
        const confirmed = await confirmTotp(ctx, viewer.user, id, code, clientInfo(request));
        await enrolments.delete(viewer.session.id, id);
        const added = t('account.flash.factorAdded', { name: confirmed.factor.name });
        return pages.redirect(reply, '/account#mfa', confirmed.recoveryCodes ? { kind: 'ok', text: added, codes: confirmed.recoveryCodes } : { kind: 'ok', text: added });
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'invalid_mfa_code') throw err;
        return enrolPage(request, reply, viewer, id, { status: code ? err.status : 400, message: t.server(err.message) });
      }
    },
    [],
    { recent: true, enrolment: true, statuses: [401], returnTo: (request) => `/account/mfa/totp?id=${formField(request.body, 'id', 64)}` },
  );

  action(
    '/account/mfa/remove',
    'mfa',
    async (request, reply, viewer, t) => {
      await removeFactor(ctx, viewer.user, formField(request.body, 'id', 64), clientInfo(request));
      return pages.redirect(reply, '/account#mfa', { kind: 'ok', text: t('account.flash.factorRemoved') });
    },
    [],
    { recent: true },
  );

  action(
    '/account/passkeys/rename',
    'passkeys',
    async (request, reply, viewer, t) => {
      const renamed = await renamePasskey(ctx, viewer.user, formField(request.body, 'id', 64), formField(request.body, 'name', 1000));
      return pages.redirect(reply, '/account#passkeys', { kind: 'ok', text: t('account.flash.passkeyRenamed', { name: renamed.name }) });
    },
    ['id', 'name'],
  );

  // 409: the account's last way in (no password, no linked provider, no other passkey) stays.
  action(
    '/account/passkeys/remove',
    'passkeys',
    async (request, reply, viewer, t) => {
      await removePasskey(ctx, viewer.user, formField(request.body, 'id', 64), clientInfo(request));
      return pages.redirect(reply, '/account#passkeys', { kind: 'ok', text: t('account.flash.passkeyRemoved') });
    },
    [],
    { recent: true },
  );

  action(
    '/account/mfa/recovery-codes',
    'mfa',
    async (request, reply, viewer, t) => {
      const codes = await regenerateRecoveryCodes(ctx, viewer.user, clientInfo(request));
      return pages.redirect(reply, '/account#mfa', { kind: 'ok', text: t('account.flash.recoveryCodes'), codes });
    },
    [],
    { recent: true },
  );

  // 400 the address is not one, or is already yours (beside the field); 409 another account has it; 429 too many
  // mails to it.
  action(
    '/account/email',
    'email',
    async (request, reply, viewer, t) => {
      const email = formField(request.body, 'email', 1000);
      await requestEmailChange(ctx, { userId: viewer.user.id, sessionId: viewer.session.id }, email, clientInfo(request), t.locale);
      return pages.redirect(reply, '/account', { kind: 'ok', text: t('account.flash.emailLinkSent', { email: normalizeEmail(email) }) });
    },
    ['email'],
    { recent: true, statuses: [400, 429] },
  );

  action(
    '/account/export',
    'export',
    async (request, reply, viewer) => {
      const document = await exportAccount(ctx, { userId: viewer.user.id, sessionId: viewer.session.id }, clientInfo(request));
      return reply
        .status(200)
        .header('cache-control', 'no-store')
        .header('content-type', 'application/json; charset=utf-8')
        .header('content-disposition', 'attachment; filename="gatehouse-export.json"')
        .send(JSON.stringify(document, null, 2));
    },
    [],
    { recent: true, download: true },
  );

  // 400 the typed address is not the account's (beside the field); 409 the last enabled admin.
  action(
    '/account/delete',
    'delete',
    async (request, reply, viewer, t) => {
      if (normalizeEmail(formField(request.body, 'email', 1000)) !== viewer.user.email) {
        throw validationError([{ field: 'email', message: t('account.delete.mismatch') }]);
      }
      await deleteAccount(ctx, viewer.user, { userId: viewer.user.id, client: clientInfo(request) }, t.locale);
      clearAuthCookies(reply, ctx.config);
      return pages.redirect(reply, '/login', { kind: 'ok', text: t('account.flash.deleted') });
    },
    [],
    { recent: true, statuses: [400] },
  );
}
