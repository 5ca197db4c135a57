export { createVerifier, type Verifier, type VerifierOptions } from './create-verifier.ts';
export { VerifyError, VERIFY_ERRORS, type VerifyErrorCode, type VerifyCheck, type ErrorBody } from './errors.ts';
export { ERROR_CODES, isErrorCode, type ErrorCode, type ErrorStatus } from './error-codes.ts';
export type { AccessTokenClaims, ClientAccessTokenClaims, VerifiedClaims } from './verify-signed-token.ts';
export type { Algorithm } from './algorithms.ts';
export { bearerToken } from './bearer.ts';
export type { RevocationCheck, RedisLike, RedisRevocationOptions, IntrospectRevocationOptions } from './revocation.ts';
export type { PostgresRevocationOptions } from './revocation-feed.ts';
export { createLogoutTokenVerifier, BACKCHANNEL_LOGOUT_EVENT, type LogoutTokenVerifier, type LogoutTokenVerifierOptions, type LogoutClaims } from './backchannel-logout.ts';
