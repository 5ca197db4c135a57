export {
  createClient,
  GatehouseClient,
  type ClientOptions,
  type LoginMode,
  type LoginResult,
  type MfaChallenge,
  type MfaMethod,
  type MfaProof,
  type ReauthProof,
  type SessionEndReason,
  type SessionEndedDetail,
  type User,
} from './client.ts';
export { GatehouseError, type FieldError } from './errors.ts';
