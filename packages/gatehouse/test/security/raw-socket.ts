// Bytes on a real socket, for what app.inject() cannot send: malformed framing, oversized or repeated
// headers, no Host, a body that trickles in.
import net from 'node:net';
import type { App } from '../../src/http/types.ts';

export interface RawResponse {
  status: number;
  headers: Record<string, string[]>;
  body: string;
  /** Everything the server wrote, as text. */
  text: string;
  /** Milliseconds from connecting to the server closing the connection (or the client giving up). */
  elapsedMs: number;
  /** The server closed the connection (rather than the client timing out). */
  closedByServer: boolean;
}

export async function listen(app: App): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as net.AddressInfo).port;
}

export function parseResponse(text: string): Pick<RawResponse, 'status' | 'headers' | 'body'> {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end === -1 ? text.length : end).split('\r\n');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) (headers[line.slice(0, colon).toLowerCase()] ??= []).push(line.slice(colon + 1).trim());
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: end === -1 ? '' : text.slice(end + 4) };
}

/**
 * Connects, writes `chunks` (a function writes them over time), and collects what comes back until the server
 * closes the connection or `waitMs` passes.
 */
export function exchange(port: number, chunks: string | Buffer | ((socket: net.Socket) => void), waitMs = 3000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, waitMs);
    socket.on('data', (data) => received.push(data));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('latin1');
      resolve({ ...parseResponse(text), text, elapsedMs: Date.now() - started, closedByServer });
    });
    if (typeof chunks === 'function') chunks(socket);
    else socket.write(chunks);
  });
}
