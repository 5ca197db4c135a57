// Passkeys (WebAuthn): registration (behind a recent sign-in), management, sign-in (usernameless or for an
// e-mail), and the options for using one as the second step of a sign-in or to confirm it is you.
import { Type } from 'typebox';
import type { Context } from '../../context.ts';
import type { Factor } from '../../factors/store.ts';
import {
  listPasskeys,
  loginOptions,
  reauthOptions,
  registerPasskey,
  registrationOptions,
  removePasskey,
  renamePasskey,
  secondStepOptions,
  signInWithPasskey,
} from '../../methods/passkeys/service.ts';
import { getUser } from '../../users/service.ts';
import type { Guards } from '../plugins/auth.ts';
import { NoContent, errors } from '../responses.ts';
import { answerSignIn } from '../sign-in-answer.ts';
import { DateTime, EmailField, LoginResponseSchema, ModeSchema } from '../schemas.ts';
import { clientInfo, sessionOf, type App } from '../types.ts';

const B64 = (maxLength: number, description?: string) => Type.String({ maxLength, ...(description ? { description } : {}) });
const Transports = Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 });
const Extensions = Type.Object({}, { additionalProperties: true, description: 'clientExtensionResults, as the browser gave them' });

/** An assertion, as the browser's PublicKeyCredential.toJSON() (or @simplewebauthn/browser's startAuthentication()) gives it. */
export const AuthenticationResponseSchema = Type.Object(
  {
    id: B64(1400, 'The credential id, base64url'),
    rawId: B64(1400),
    type: Type.String({ maxLength: 20, description: 'public-key' }),
    response: Type.Object({
      clientDataJSON: B64(8192),
      authenticatorData: B64(8192),
      signature: B64(2048),
      userHandle: Type.Optional(Type.Union([B64(512), Type.Null()])),
    }),
    clientExtensionResults: Type.Optional(Extensions),
    authenticatorAttachment: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
  },
  { description: 'A WebAuthn assertion (AuthenticationResponseJSON)' },
);

const RegistrationResponseSchema = Type.Object(
  {
    id: B64(1400, 'The credential id, base64url'),
    rawId: B64(1400),
    type: Type.String({ maxLength: 20, description: 'public-key' }),
    response: Type.Object({
      clientDataJSON: B64(8192),
      attestationObject: B64(32_768),
      authenticatorData: Type.Optional(B64(16_384)),
      transports: Type.Optional(Transports),
      publicKey: Type.Optional(B64(8192)),
      publicKeyAlgorithm: Type.Optional(Type.Integer()),
    }),
    clientExtensionResults: Type.Optional(Extensions),
    authenticatorAttachment: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
  },
  { description: 'A WebAuthn attestation (RegistrationResponseJSON), as navigator.credentials.create() gives it' },
);

const CredentialDescriptor = Type.Object({ id: Type.String(), type: Type.String({ description: 'public-key' }), transports: Type.Optional(Type.Array(Type.String())) });

const CreationOptionsSchema = Type.Object(
  {
    challenge: Type.String({ description: 'base64url; single use, lives 5 minutes' }),
    rp: Type.Object({ name: Type.String(), id: Type.Optional(Type.String()) }),
    user: Type.Object({ id: Type.String({ description: 'The user handle, base64url (no personal data)' }), name: Type.String(), displayName: Type.String() }),
    pubKeyCredParams: Type.Array(Type.Object({ alg: Type.Integer(), type: Type.Literal('public-key') })),
    timeout: Type.Optional(Type.Integer()),
    excludeCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
    authenticatorSelection: Type.Optional(
      Type.Object({
        authenticatorAttachment: Type.Optional(Type.String()),
        residentKey: Type.Optional(Type.String()),
        requireResidentKey: Type.Optional(Type.Boolean()),
        userVerification: Type.Optional(Type.String()),
      }),
    ),
    hints: Type.Optional(Type.Array(Type.String())),
    attestation: Type.Optional(Type.String()),
    extensions: Type.Optional(Type.Object({ credProps: Type.Optional(Type.Boolean()) })),
  },
  { description: 'PublicKeyCredentialCreationOptionsJSON: give it to navigator.credentials.create() (PublicKeyCredential.parseCreationOptionsFromJSON) or @simplewebauthn/browser' },
);

const RequestOptionsSchema = Type.Object(
  {
    challenge: Type.String({ description: 'base64url; single use, lives 5 minutes' }),
    timeout: Type.Optional(Type.Integer()),
    rpId: Type.Optional(Type.String()),
    allowCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
    userVerification: Type.Optional(Type.String()),
    hints: Type.Optional(Type.Array(Type.String())),
    extensions: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { description: 'PublicKeyCredentialRequestOptionsJSON: give it to navigator.credentials.get() (PublicKeyCredential.parseRequestOptionsFromJSON) or @simplewebauthn/browser' },
);

const PasskeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: DateTime,
  lastUsedAt: Type.Union([DateTime, Type.Null()]),
  transports: Type.Array(Type.String()),
  userVerified: Type.Boolean({ description: 'Registered with user verification (PIN, biometrics): signs in alone' }),
  backedUp: Type.Boolean({ description: 'A synced (multi-device) passkey that is backed up' }),
  aaguid: Type.String({ description: "The authenticator model's AAGUID (zeros when it does not say)" }),
});

function toPublicPasskey(factor: Factor) {
  const passkey = factor.webauthn!;
  return {
    id: factor.id,
    name: factor.name,
    createdAt: new Date(factor.createdAt).toISOString(),
    lastUsedAt: factor.lastUsedAt === null ? null : new Date(factor.lastUsedAt).toISOString(),
    transports: passkey.transports,
    userVerified: passkey.userVerified,
    backedUp: passkey.backedUp,
    aaguid: passkey.aaguid,
  };
}

export function passkeyRoutes(app: App, ctx: Context, guards: Guards): void {
  // A user whose role requires a factor (MFA_REQUIRED_ROLES) and has none may add a passkey as that factor.
  const enrolment = { config: { allowWithoutMfa: true } };
  const noStore = { 'cache-control': 'no-store' };

  app.post(
    '/auth/passkeys/register/options',
    { ...enrolment, preHandler: guards.recentSignIn, schema: { response: { 200: CreationOptionsSchema, ...errors(401, 403, 409) } } },
    async (request, reply) => {
      const caller = sessionOf(request);
      reply.headers(noStore);
      return registrationOptions(ctx, await getUser(ctx, caller.userId), caller.sessionId);
    },
  );

  app.post(
    '/auth/passkeys/register',
    {
      ...enrolment,
      preHandler: guards.recentSignIn,
      schema: {
        body: Type.Object({ response: RegistrationResponseSchema, name: Type.Optional(Type.String({ maxLength: 1000, description: 'Trimmed, 1 to 100 characters; "Passkey" by default' })) }),
        response: {
          201: Type.Object({
            id: Type.String(),
            name: Type.String(),
            createdAt: DateTime,
            recoveryCodes: Type.Optional(Type.Array(Type.String(), { description: "With the account's first second factor only: shown once, each works once" })),
          }),
          ...errors(401, 403, 409),
        },
      },
    },
    async (request, reply) => {
      const caller = sessionOf(request);
      const user = await getUser(ctx, caller.userId);
      const { response, name } = request.body;
      const registered = await registerPasskey(ctx, user, caller.sessionId, { response: { ...response, clientExtensionResults: response.clientExtensionResults ?? {} } as never, name }, clientInfo(request));
      reply.status(201).headers(noStore);
      return { id: registered.factor.id, name: registered.factor.name, createdAt: new Date(registered.factor.createdAt).toISOString(), ...(registered.recoveryCodes ? { recoveryCodes: registered.recoveryCodes } : {}) };
    },
  );

  app.get(
    '/auth/passkeys',
    { ...enrolment, preHandler: guards.authenticateSession, schema: { response: { 200: Type.Object({ passkeys: Type.Array(PasskeySchema) }), ...errors(401, 403) } } },
    async (request, reply) => {
      reply.headers(noStore);
      return { passkeys: (await listPasskeys(ctx, sessionOf(request).userId)).map(toPublicPasskey) };
    },
  );

  app.patch(
    '/auth/passkeys/:id',
    {
      preHandler: guards.authenticateSession,
      schema: {
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ name: Type.String({ maxLength: 1000, description: 'Trimmed, 1 to 100 characters' }) }),
        response: { 200: PasskeySchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const user = await getUser(ctx, sessionOf(request).userId);
      return toPublicPasskey(await renamePasskey(ctx, user, request.params.id, request.body.name));
    },
  );

  app.delete(
    '/auth/passkeys/:id',
    { preHandler: guards.recentSignIn, schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: NoContent, ...errors(401, 403, 404, 409) } } },
    async (request, reply) => {
      const user = await getUser(ctx, sessionOf(request).userId);
      await removePasskey(ctx, user, request.params.id, clientInfo(request));
      reply.status(204).send();
    },
  );

  app.post(
    '/auth/passkeys/login/options',
    {
      schema: {
        body: Type.Object({ email: Type.Optional(EmailField) }),
        response: { 200: RequestOptionsSchema },
      },
    },
    async (request, reply) => {
      reply.headers(noStore);
      return loginOptions(ctx, request.body.email);
    },
  );

  app.post(
    '/auth/passkeys/login',
    {
      schema: {
        body: Type.Object({ response: AuthenticationResponseSchema, mode: Type.Optional(ModeSchema) }),
        response: { 200: LoginResponseSchema, ...errors(403) },
      },
    },
    async (request, reply) => {
      const mode = request.body.mode ?? 'token';
      return answerSignIn(ctx, reply, await signInWithPasskey(ctx, request.body.response as never, mode, clientInfo(request)), mode);
    },
  );

  // The MFA challenge carries no options: a passkey second step asks for them with its ticket.
  app.post(
    '/auth/mfa/webauthn/options',
    {
      schema: {
        body: Type.Object({ mfaTicket: Type.String({ maxLength: 200 }) }),
        response: { 200: RequestOptionsSchema, ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      reply.headers(noStore);
      return secondStepOptions(ctx, request.body.mfaTicket);
    },
  );

  app.post(
    '/auth/reauthenticate/webauthn/options',
    { ...enrolment, preHandler: guards.authenticateSession, schema: { response: { 200: RequestOptionsSchema, ...errors(401, 403, 404) } } },
    async (request, reply) => {
      reply.headers(noStore);
      return reauthOptions(ctx, sessionOf(request));
    },
  );
}
