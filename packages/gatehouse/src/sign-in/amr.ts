// Authentication method references (RFC 8176 §2): how a session was signed in, kept on the session and put in
// its access tokens. `mfa` is derived from what was completed, never from what is enrolled.
export const AMR = {
  password: 'pwd',
  federated: 'fed',
  otp: 'otp',
  hardwareKey: 'hwk',
  userPresence: 'user',
  email: 'email',
  recoveryCode: 'rc',
  multiFactor: 'mfa',
} as const;

export type AmrValue = (typeof AMR)[keyof typeof AMR];

