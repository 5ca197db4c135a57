// What each production layer costs on its own: bare Fastify, then with helmet, with helmet's headers computed
// once, with request logging, and with everything app.ts registers before any route runs. autocannon from a
// child process, 32 connections, 4 s per rung after 1 s of warm-up, ROUNDS times (default 2).
//   node --import tsx bench/plugin-ladder.ts        LADDER="rung;rung" picks rungs (comma-separated layers)
import { runLoad, startPeer } from './harness.ts';
for (let round = 0; round < Number(process.env.ROUNDS ?? 2); round++)
for (const layers of (process.env.LADDER ?? ';helmet;static-helmet;log;helmet,cookie,cors,log;static-helmet,cookie,cors,log').split(';')) {
  const peer = await startPeer('./peers/fastify-stack.ts', { LAYERS: layers });
  const r = await runLoad({ url: peer.url, connections: 32, warmupSeconds: 1, seconds: 4, requests: [{ method: 'GET', path: '/auth/me' }] });
  console.log((layers || 'bare').padEnd(26), Math.round(r.perSecond));
  await peer.stop();
}
