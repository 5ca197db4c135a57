// `gatehouse clients create | list | rotate-secret | delete`: the OpenID provider's clients from a shell.
import { parseArgs } from 'node:util';
import type { Runtime } from '../bootstrap.ts';
import { SqlOidcClientStore } from '../db/oidc-store.ts';
import { createClient, deleteClient, rotateClientSecret, toPublicClient, updateClient, type ClientGrant } from './clients.ts';

export const CLIENTS_USAGE = `  clients create --name N --redirect-uri U [--redirect-uri U…] [--post-logout-redirect-uri U…]
                 [--public] [--first-party] [--grant client_credentials] [--backchannel-logout-uri U]
                 [--resource URI…] [--scope S…]
                                register an application with the OpenID provider; prints its id and secret once;
                                --resource and --scope: the APIs (RFC 8707) and API scopes it may ask tokens for
  clients update <id> [--resource URI…] [--scope S…] [--no-resources] [--no-scopes]
                                replace an application's allowed APIs or API scopes
  clients list                  the registered applications
  clients rotate-secret <id>    a new secret (printed once); the old one stops working
  clients delete <id>           remove an application`;

export async function clientsCommand(runtime: Runtime, sub: string | undefined, args: string[], print: (line: string) => void): Promise<number> {
  const deps = { clients: new SqlOidcClientStore(runtime.database.db), now: runtime.ctx.now };
  if (sub === 'create') {
    const { values } = parseArgs({
      args,
      options: {
        name: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true, default: [] },
        'post-logout-redirect-uri': { type: 'string', multiple: true, default: [] },
        public: { type: 'boolean', default: false },
        'first-party': { type: 'boolean', default: false },
        grant: { type: 'string', multiple: true, default: [] },
        'backchannel-logout-uri': { type: 'string' },
        resource: { type: 'string', multiple: true, default: [] },
        scope: { type: 'string', multiple: true, default: [] },
      },
    });
    if (!values.name) throw new Error('--name is required');
    const grants = values.grant as string[];
    for (const grant of grants) if (!['authorization_code', 'refresh_token', 'client_credentials'].includes(grant)) throw new Error(`--grant ${grant}: one of authorization_code, refresh_token, client_credentials`);
    const { client, secret } = await createClient(deps, {
      name: values.name,
      redirectUris: values['redirect-uri'] as string[],
      postLogoutRedirectUris: values['post-logout-redirect-uri'] as string[],
      public: values.public,
      firstParty: values['first-party'],
      grants: grants as ClientGrant[],
      backchannelLogoutUri: values['backchannel-logout-uri'] ?? null,
      resources: values.resource as string[],
      scopes: values.scope as string[],
    });
    print(`Created client ${client.name}`);
    print(`Client id: ${client.clientId}`);
    print(secret ? `Client secret (shown once): ${secret}` : 'Public client: no secret (PKCE S256 only)');
    return 0;
  }
  if (sub === 'update' && args[0] && !args[0].startsWith('-')) {
    const { values } = parseArgs({
      args: args.slice(1),
      options: {
        resource: { type: 'string', multiple: true },
        scope: { type: 'string', multiple: true },
        'no-resources': { type: 'boolean', default: false },
        'no-scopes': { type: 'boolean', default: false },
      },
    });
    const resources = values['no-resources'] ? [] : (values.resource as string[] | undefined);
    const scopes = values['no-scopes'] ? [] : (values.scope as string[] | undefined);
    if (resources === undefined && scopes === undefined) throw new Error('clients update: give --resource, --scope, --no-resources or --no-scopes');
    const client = toPublicClient(await updateClient(deps, args[0], { resources, scopes }));
    print(`Updated client ${client.name}`);
    print(`Resources: ${client.resources.join(' ') || '(none)'}`);
    print(`Scopes: ${client.scopes.join(' ') || '(none)'}`);
    return 0;
  }
  if (sub === 'list') {
    for (const client of (await deps.clients.list()).map(toPublicClient)) {
      const allowed = [...client.resources, ...client.scopes.map((s) => `scope:${s}`)].join(' ');
      print(`${client.clientId}  ${client.name}  ${client.public ? 'public' : 'confidential'}${client.firstParty ? ' first-party' : ''}  ${client.grantTypes.join(',')}  ${client.redirectUris.join(' ')}${allowed ? `  allows ${allowed}` : ''}`);
    }
    return 0;
  }
  if (sub === 'rotate-secret' && args[0]) {
    const { secret } = await rotateClientSecret(deps, args[0]);
    print(`New client secret (shown once): ${secret}`);
    return 0;
  }
  if (sub === 'delete' && args[0]) {
    await deleteClient(deps, args[0]);
    print(`Deleted client ${args[0]}`);
    return 0;
  }
  return 2;
}
