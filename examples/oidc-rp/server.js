// npm start -w @gatehouse/example-oidc-rp (see README.md), with Gatehouse running:
//   GATEHOUSE_ISSUER  Gatehouse's PUBLIC_URL, the issuer (default http://127.0.0.1:3000)
//   CLIENT_ID, CLIENT_SECRET  from `npm run gatehouse -- clients create …` (no secret for a --public client)
//   PORT              where this app listens (default 3001); its base URL is RP_URL (default http://127.0.0.1:PORT)
//   OFFLINE_ACCESS    "false" to sign in without asking for a refresh token
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3001);
const baseUrl = process.env.RP_URL ?? `http://127.0.0.1:${port}`;
const issuer = process.env.GATEHOUSE_ISSUER ?? 'http://127.0.0.1:3000';
if (!process.env.CLIENT_ID) {
  console.error('Set CLIENT_ID (and CLIENT_SECRET) from `npm run gatehouse -- clients create …`: see examples/oidc-rp/README.md');
  process.exit(1);
}
const server = await createApp({ issuer, clientId: process.env.CLIENT_ID, clientSecret: process.env.CLIENT_SECRET, baseUrl, offlineAccess: process.env.OFFLINE_ACCESS !== 'false' });
server.listen(port, '127.0.0.1', () => console.log(`example relying party on ${baseUrl}, signing in with ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close());
