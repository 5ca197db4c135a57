// npm run example:api (at the repository root), with Gatehouse running:
//   GATEHOUSE_URL    where Gatehouse answers (default http://127.0.0.1:3000)
//   GATEHOUSE_ISSUER its PUBLIC_URL, the tokens' iss (default GATEHOUSE_URL)
//   GATEHOUSE_AUDIENCE its JWT_AUDIENCE (default the issuer)
//   REDIS_URL, REDIS_PREFIX  Gatehouse's Redis: refuse revoked tokens at once (optional)
//   PORT             where this API listens (default 4000)
import { createVerifier } from '@gatehouse/verify';
import { createApp } from './app.js';

const gatehouseUrl = (process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
const issuer = process.env.GATEHOUSE_ISSUER ?? gatehouseUrl;
const verifier = createVerifier({
  issuer,
  audience: process.env.GATEHOUSE_AUDIENCE ?? issuer,
  jwksUrl: `${gatehouseUrl}/.well-known/jwks.json`,
  ...(process.env.REDIS_URL ? { revocation: { redis: { url: process.env.REDIS_URL, prefix: process.env.REDIS_PREFIX ?? 'gh:' } } } : {}),
});

const port = Number(process.env.PORT ?? 4000);
const server = createApp(verifier).listen(port, '127.0.0.1', () => {
  console.log(`example API on http://127.0.0.1:${port}, trusting tokens from ${issuer}${process.env.REDIS_URL ? ' (with revocation through Redis)' : ''}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    void verifier.close();
  });
}
