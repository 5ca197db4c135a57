// The one table of error codes holds every code of the contract (v1 and the v2 additions) with the
// contract's status, and the verifier's codes are taken from it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, isErrorCode } from '../src/error-codes.ts';
import { VERIFY_ERRORS, VerifyError } from '../src/errors.ts';

// CONTRACT.md "Errors" and "v2 additions".
const CONTRACT: Record<string, number> = {
  validation_failed: 400,
  invalid_json: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  invalid_credentials: 401,
  authentication_required: 401,
  token_expired: 401,
  invalid_token: 401,
  token_revoked: 401,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  forbidden: 403,
  csrf_failed: 403,
  email_not_verified: 403,
  account_disabled: 403,
  not_found: 404,
  email_taken: 409,
  rate_limited: 429,
  invalid_or_expired_token: 400,
  service_unavailable: 503,
  mfa_required: 403,
  invalid_mfa_ticket: 401,
  invalid_mfa_code: 401,
  mfa_enrollment_required: 403,
  reauthentication_required: 403,
  invalid_webauthn_response: 400,
};
// The server's own codes beyond the contract's list.
const SERVER = { oauth_failed: 400, method_not_allowed: 405, request_timeout: 408, conflict: 409, headers_too_large: 431, internal: 500 };

describe('ERROR_CODES', () => {
  it("holds every code of the contract and the server's, each with its status, and nothing else", () => {
    const expected = { ...CONTRACT, ...SERVER };
    assert.deepEqual(Object.fromEntries(Object.entries(ERROR_CODES).map(([code, [status]]) => [code, status])), expected);
    for (const [code, [, message]] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^[a-z]+(_[a-z]+)*$/);
      assert.ok(message.length > 0, code);
    }
  });

  it("gives the verifier's codes the same status and message", () => {
    for (const [code, row] of Object.entries(VERIFY_ERRORS)) {
      assert.deepEqual(row, ERROR_CODES[code as keyof typeof ERROR_CODES]);
      const err = new VerifyError(code as keyof typeof VERIFY_ERRORS);
      assert.equal(err.status, row[0]);
      assert.equal(err.message, row[1]);
    }
    assert.equal(new VerifyError('mfa_required').status, 403);
  });

  it('isErrorCode knows the table and nothing inherited', () => {
    assert.ok(isErrorCode('mfa_required'));
    assert.ok(!isErrorCode('toString'));
    assert.ok(!isErrorCode('__proto__'));
    assert.ok(!isErrorCode(403));
  });
});
