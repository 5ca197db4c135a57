export {
  createClient,
  GatehouseClient,
  type ClientOptions,
  type LoginMode,
  type LoginResult,
  type MfaChallenge,
  type MfaMethod,
  type MagicLinkProof,
  type MfaProof,
  type ReauthProof,
  type RegisteredPasskey,
  type SessionEndReason,
  type SessionEndedDetail,
  type User,
  type WebAuthnAdapter,
  type WebAuthnJSON,
} from './client.ts';
export { GatehouseError, type FieldError } from './errors.ts';
