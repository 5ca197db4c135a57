// A small software authenticator for API tests: ES256 key pairs from node:crypto, attestation objects in
// CBOR (fmt "none"), authenticator data with its flags, counter and attested credential data, and the
// client's clientDataJSON, as a browser would hand them to the server. Each ceremony can be bent (another
// origin, another RP id, flags, counter, a challenge of its own) so the security tests can forge what an
// attacker would send. Nothing here uses the server's WebAuthn library: the two must agree independently.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

// --- a minimal CBOR encoder (RFC 8949): unsigned and negative integers, byte and text strings, arrays, maps ---

function head(major: number, value: number): Buffer {
  if (value < 24) return Buffer.from([(major << 5) | value]);
  if (value < 0x100) return Buffer.from([(major << 5) | 24, value]);
  if (value < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(value, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(value, 1);
  return b;
}

export type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor> | { [key: string]: Cbor };

export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError('only integers');
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

// --- the authenticator ---

const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 } as const;

export interface SoftCredential {
  id: Buffer;
  privateKey: KeyObject;
  /** COSE_Key (EC2, ES256, P-256). */
  cosePublicKey: Buffer;
  rpId: string;
  userHandle: string | null;
  counter: number;
}

interface CreationOptions {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  excludeCredentials?: Array<{ id: string }>;
}
interface RequestOptions {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
}

/** How one ceremony is bent (all optional): what a browser would not send, or an attacker would. */
export interface Tweaks {
  origin?: string;
  /** The RP id whose hash goes into the authenticator data. */
  rpId?: string;
  /** Replace the challenge the options gave. */
  challenge?: string;
  /** clientDataJSON's type (webauthn.create / webauthn.get). */
  type?: string;
  /** User verification for this ceremony (else the authenticator's default). */
  uv?: boolean;
  /** User presence (default true). */
  up?: boolean;
  /** Sign with this credential, whatever the options allow. */
  credentialId?: string;
  /** Use this signature counter (the credential's own is not moved). */
  counter?: number;
  /** Sent as userHandle instead of the credential's. */
  userHandle?: string | null;
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  /** Whether it verifies the user (PIN, biometrics) by default; a plain security key does not. */
  uv: boolean;
  origin: string;
  aaguid = randomBytes(16);

  constructor(options: { origin?: string; uv?: boolean } = {}) {
    this.origin = options.origin ?? 'http://127.0.0.1:3000';
    this.uv = options.uv ?? true;
  }

  /** navigator.credentials.create(): a new credential and the RegistrationResponseJSON for the options. */
  create(options: CreationOptions, tweaks: Tweaks = {}) {
    const rpId = tweaks.rpId ?? options.rp.id ?? new URL(this.origin).hostname;
    const excluded = new Set((options.excludeCredentials ?? []).map((c) => c.id));
    if (this.credentials.some((c) => excluded.has(b64u(c.id)) && c.rpId === rpId)) throw new Error('InvalidStateError: this authenticator holds an excluded credential');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    const cosePublicKey = cbor(
      new Map<number, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x, 'base64url')],
        [-3, Buffer.from(jwk.y, 'base64url')],
      ]),
    );
    const credential: SoftCredential = { id: randomBytes(32), privateKey, cosePublicKey, rpId, userHandle: options.user.id, counter: 0 };
    this.credentials.push(credential);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const authData = this.authData(rpId, tweaks, FLAG.AT, credential.counter, Buffer.concat([this.aaguid, idLength, credential.id, cosePublicKey]));
    const clientDataJSON = this.clientData(tweaks.type ?? 'webauthn.create', tweaks.challenge ?? options.challenge, tweaks.origin);
    return {
      id: b64u(credential.id),
      rawId: b64u(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        attestationObject: b64u(cbor({ fmt: 'none', attStmt: {}, authData })),
        transports: ['internal', 'hybrid'],
      },
      clientExtensionResults: { credProps: { rk: true } },
      authenticatorAttachment: 'platform',
    };
  }

  /**
   * navigator.credentials.get(): an assertion for the options. With allowCredentials, the first credential of
   * ours in the list; without (discoverable), the first we hold for the RP id. The counter moves up by one.
   */
  get(options: RequestOptions, tweaks: Tweaks = {}) {
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const credential = tweaks.credentialId
      ? this.credentials.find((c) => b64u(c.id) === tweaks.credentialId)
      : allowed.length
        ? this.credentials.find((c) => allowed.includes(b64u(c.id)))
        : this.credentials.find((c) => c.rpId === rpId);
    if (!credential) throw new Error('NotAllowedError: no credential of this authenticator fits the options');
    let counter = tweaks.counter;
    if (counter === undefined) counter = ++credential.counter;
    const authData = this.authData(tweaks.rpId ?? rpId, tweaks, 0, counter);
    const clientDataJSON = this.clientData(tweaks.type ?? 'webauthn.get', tweaks.challenge ?? options.challenge, tweaks.origin);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    const userHandle = tweaks.userHandle === undefined ? credential.userHandle : tweaks.userHandle;
    return {
      id: b64u(credential.id),
      rawId: b64u(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        ...(userHandle ? { userHandle } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  private authData(rpId: string, tweaks: Tweaks, extraFlags: number, counter: number, attested: Buffer = Buffer.alloc(0)): Buffer {
    const uv = tweaks.uv ?? this.uv;
    const flags = ((tweaks.up ?? true) ? FLAG.UP : 0) | (uv ? FLAG.UV : 0) | FLAG.BE | FLAG.BS | extraFlags;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter >>> 0);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, attested]);
  }

  private clientData(type: string, challenge: string, origin?: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: origin ?? this.origin, crossOrigin: false }));
  }
}

/** The same response with its authenticator data changed after signing (`edit` gets the raw bytes). */
export function tamperAuthData<T extends { response: { authenticatorData: string } }>(response: T, edit: (data: Buffer) => void): T {
  const data = Buffer.from(response.response.authenticatorData, 'base64url');
  edit(data);
  return { ...response, response: { ...response.response, authenticatorData: data.toString('base64url') } };
}

/** The same response with one bit of its signature flipped. */
export function tamperSignature<T extends { response: { signature: string } }>(response: T): T {
  const signature = Buffer.from(response.response.signature, 'base64url');
  const i = signature.length - 3;
  signature[i] = signature[i]! ^ 0x01;
  return { ...response, response: { ...response.response, signature: signature.toString('base64url') } };
}
