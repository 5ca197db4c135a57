// oidc-provider's storage adapter over the database: every model in one table (oidc_payloads), and the
// Client model read from the clients Gatehouse registered (oidc_clients), never written through here.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OidcClientStore, OidcPayloadStore } from './store.ts';
import { providerMetadata } from './clients.ts';
import { registeredClient } from './registration.ts';
import type { RefreshGrace } from './refresh-grace.ts';

export interface AdapterDependencies {
  payloads: OidcPayloadStore;
  clients: OidcClientStore;
  now: () => number;
  /** Dynamic registration is on (OIDC_REGISTRATION_TOKEN): the provider may insert clients. */
  registration?: boolean;
  /** The refresh-token reuse grace (refresh-grace.ts); none without it. */
  refreshGrace?: RefreshGrace;
}

export class OidcPayloadAdapter implements Adapter {
  constructor(
    private readonly kind: string,
    private readonly deps: AdapterDependencies,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const expiresAt = expiresIn ? this.deps.now() + expiresIn * 1000 : null;
    await this.deps.payloads.upsert(this.kind, id, payload as Record<string, unknown>, expiresAt);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const now = this.deps.now();
    const payload = (await this.deps.payloads.find(this.kind, id, now)) as AdapterPayload | undefined;
    const grace = this.deps.refreshGrace;
    if (this.kind !== 'RefreshToken' || !grace || payload?.consumed === undefined) return payload;
    // A rotated refresh token presented again: within the grace, and while its successor is unused (or still
    // being saved by a concurrent rotation), it is answered as not consumed, so that oidc-provider rotates it
    // again to the same derived successor. Otherwise consumed: oidc-provider's reuse detection revokes the grant.
    const consumedAt = await this.deps.payloads.consumedAt(this.kind, id);
    if (consumedAt === null || now - consumedAt > grace.graceMs) return payload;
    const successor = grace.successorOf(id);
    if (await this.deps.payloads.consumedAt(this.kind, successor)) return payload;
    const { consumed: _consumed, ...unconsumed } = payload;
    return unconsumed as AdapterPayload;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return (await this.deps.payloads.findByUid(this.kind, uid, this.deps.now())) as AdapterPayload | undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return (await this.deps.payloads.findByUserCode(this.kind, userCode, this.deps.now())) as AdapterPayload | undefined;
  }

  async consume(id: string): Promise<void> {
    await this.deps.payloads.consume(this.kind, id, this.deps.now());
  }

  async destroy(id: string): Promise<void> {
    await this.deps.payloads.destroy(this.kind, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.deps.payloads.revokeByGrantId(this.kind, grantId);
  }
}

/**
 * Clients come from `gatehouse clients create`, /admin/clients and the admin page; the provider writes one only
 * for dynamic registration (OIDC_REGISTRATION_TOKEN set), stored by Gatehouse's rules (registration.ts).
 */
export class ClientAdapter implements Adapter {
  constructor(private readonly deps: AdapterDependencies) {}

  async find(id: string): Promise<AdapterPayload | undefined> {
    const client = await this.deps.clients.find(id);
    return client ? (providerMetadata(client) as AdapterPayload) : undefined;
  }

  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    if (!this.deps.registration) throw new Error('clients are registered through Gatehouse (CLI or /admin/clients), not through the provider');
    if (await this.deps.clients.find(id)) throw new Error('a registration may not replace an existing client');
    await this.deps.clients.insert(registeredClient({ ...payload, client_id: id } as Parameters<typeof registeredClient>[0], this.deps.now()));
  }

  async destroy(): Promise<void> {
    throw new Error('clients are deleted through Gatehouse (CLI or /admin/clients), not through the provider');
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(): Promise<void> {}

  async revokeByGrantId(): Promise<void> {}
}

/** oidc-provider's `adapter` option: one adapter per model name. */
export function adapterFactory(deps: AdapterDependencies): (name: string) => Adapter {
  return (name) => (name === 'Client' ? new ClientAdapter(deps) : new OidcPayloadAdapter(name, deps));
}
