// npm run example:browser (at the repository root), with Gatehouse running at GATEHOUSE_URL
// (default http://127.0.0.1:3000). Serves the page on PORT (default 5173) and passes /auth/* to Gatehouse,
// so page and Gatehouse share one origin: the refresh cookie (SameSite=Strict, path /auth) just works, and
// no CORS is needed. In production a reverse proxy does the same job.
import { createReadStream, readdirSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const gatehouse = new URL(process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:3000');
const port = Number(process.env.PORT ?? 5173);
const here = path.dirname(fileURLToPath(import.meta.url));
const clientDist = path.dirname(fileURLToPath(import.meta.resolve('@gatehouse/client')));
// @simplewebauthn/browser's ES modules (its package entry, esm/index.js, and the files it imports), for the
// passkey buttons: the page passes the module to createClient({ webauthn }).
const webauthnEsm = path.dirname(fileURLToPath(import.meta.resolve('@simplewebauthn/browser')));

// The only files served: a fixed table, built once at start, so no path from the URL ever reaches the file
// system. The client's modules are every .js file of its dist (index.js imports client.js, which imports
// cross-tab.js and errors.js, …), so a module added to the client is served without editing this list; the
// same for the WebAuthn library's modules, whose folders are listed recursively.
const JS = 'text/javascript; charset=utf-8';
const FILES = new Map(Object.entries({
  '/': [path.join(here, 'public/index.html'), 'text/html; charset=utf-8'],
  '/app.js': [path.join(here, 'public/app.js'), JS],
  '/app.css': [path.join(here, 'public/app.css'), 'text/css; charset=utf-8'],
  ...Object.fromEntries(
    readdirSync(clientDist)
      .filter((name) => name.endsWith('.js'))
      .map((name) => [`/vendor/gatehouse-client/${name}`, [path.join(clientDist, name), JS]]),
  ),
  ...Object.fromEntries(
    readdirSync(webauthnEsm, { recursive: true })
      .filter((name) => name.endsWith('.js'))
      .map((name) => [`/vendor/simplewebauthn-browser/${name.split(path.sep).join('/')}`, [path.join(webauthnEsm, name), JS]]),
  ),
}));

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname.startsWith('/auth/')) return proxy(req, res);
  if (url.pathname === '/favicon.ico') return res.writeHead(204).end(); // no icon, and no 404 in the console
  const file = FILES.get(url.pathname);
  if (!file) return res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  res.writeHead(200, { 'content-type': file[1], 'content-security-policy': "default-src 'self'", 'cache-control': 'no-store' });
  createReadStream(file[0]).pipe(res);
}).listen(port, '127.0.0.1', () => {
  console.log(`page on http://127.0.0.1:${port}, /auth/* passed to ${gatehouse.origin}`);
});

function proxy(req, res) {
  const upstream = request(
    { host: gatehouse.hostname, port: gatehouse.port, method: req.method, path: req.url, headers: { ...req.headers, host: gatehouse.host } },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"code":"service_unavailable","message":"Gatehouse is not answering"}}'));
  req.pipe(upstream);
}
