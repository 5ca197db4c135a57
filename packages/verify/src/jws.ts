// `@gatehouse/verify/jws`: the token checks without the JWKS client, for a verifier that has its own keys
// (the Gatehouse server verifies its own tokens with these, against its key ring).
export { verifyJwsSignature, type KeyLookup, type SignatureRules, type VerifiedJws } from './verify-jws-signature.ts';
export { verifySignedToken, checkClaims, verifySignedClientToken, checkClientClaims, type AccessTokenClaims, type ClientAccessTokenClaims, type ClaimRules, type TokenRules } from './verify-signed-token.ts';
export { decodeCompactJws, isCanonicalBase64url, MAX_TOKEN_LENGTH, MAX_KID_LENGTH, type CompactJws } from './compact-jws.ts';
export { ALGORITHMS, KNOWN_ALGORITHMS, type Algorithm } from './algorithms.ts';
export { VerifyError, type VerifyCheck, type VerifyErrorCode } from './errors.ts';
