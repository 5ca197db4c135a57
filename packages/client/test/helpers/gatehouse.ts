// A real Gatehouse listening on loopback, built by the server's own test helper. The import is dynamic and
// untyped on purpose: the client depends on nothing from the server, not even its types.
export interface Gatehouse {
  url: string;
  clock: { now: number; advance(ms: number): void };
  config: { accessTokenTtlMs: number; refreshReuseGraceMs?: number; publicUrl: string };
  /** The e-mails written to the server's outbox for `to`, oldest first, once its background mail work is done. */
  mailsTo(to: string): Promise<Array<{ subject: string; text: string }>>;
  close(): Promise<void>;
}

export async function startGatehouse(env: Record<string, string> = {}): Promise<Gatehouse> {
  const { startTestServer } = await import(new URL('../../../gatehouse/test/helpers/app.ts', import.meta.url).href);
  const server = await startTestServer({ fakeClock: Date.now(), env: { LOG_LEVEL: 'warn', ...env } });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address();
  const { readOutbox } = await import(new URL('../../../gatehouse/test/helpers/mail.ts', import.meta.url).href);
  const { outboxDir } = await import(new URL('../../../gatehouse/src/mail/transport.ts', import.meta.url).href);
  const mailsTo = async (to: string) => {
    await server.runtime.ctx.background.drain();
    return ((await readOutbox(outboxDir(server.config))) as Array<{ to: string; subject: string; text: string }>).filter((m) => m.to === to);
  };
  return { url: `http://127.0.0.1:${port}`, clock: server.clock, config: server.config, mailsTo, close: () => server.close() };
}

export interface Exchange {
  method: string;
  path: string;
  headers: Headers;
  credentials: RequestCredentials;
  status: number;
  body: string;
}

/**
 * A fetch that records every exchange and, with `jar`, keeps cookies like a browser would (Node's fetch
 * has no cookie jar). Paths and Secure are ignored: everything here is one loopback origin over http.
 */
export function recordingFetch(options: { jar?: boolean } = {}): typeof fetch & { exchanges: Exchange[]; cookies: Map<string, string> } {
  const cookies = new Map<string, string>();
  const exchanges: Exchange[] = [];
  const recorder = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const headers = new Headers(request.headers);
    if (options.jar && cookies.size > 0) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(new Request(request, { headers }));
    if (options.jar) {
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attributes] = line.split(';');
        const name = pair!.slice(0, pair!.indexOf('=')).trim();
        const value = pair!.slice(pair!.indexOf('=') + 1).trim();
        const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
        if (gone || value === '') cookies.delete(name);
        else cookies.set(name, value);
      }
    }
    exchanges.push({ method: request.method, path: new URL(request.url).pathname, headers, credentials: request.credentials, status: res.status, body: await res.clone().text() });
    return res;
  }) as typeof fetch & { exchanges: Exchange[]; cookies: Map<string, string> };
  recorder.exchanges = exchanges;
  recorder.cookies = cookies;
  return recorder;
}

/** The TOTP code of `secret` at `now` (ms), by the server's own RFC 6238 implementation. */
export async function totpCode(secret: string, now: number): Promise<string> {
  const { codeAt } = await import(new URL('../../../gatehouse/src/methods/totp/totp.ts', import.meta.url).href);
  return codeAt(secret, now);
}

let counter = 0;
export const PASSWORD = 'correct horse battery staple';
export function uniqueEmail(): string {
  counter += 1;
  return `client${counter}.${process.pid}.${Date.now()}@example.com`;
}
