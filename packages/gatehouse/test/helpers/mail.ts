// A real SMTP server in the test process, and a reader for the outbox folder.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
}

async function parse(raw: Buffer | string): Promise<ReceivedMail> {
  const mail = await simpleParser(raw);
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return { to: to?.value[0]?.address ?? '', from: mail.from?.value[0]?.address ?? '', subject: mail.subject ?? '', text: mail.text ?? '', html: typeof mail.html === 'string' ? mail.html : '' };
}

export interface SmtpSink {
  url: string;
  messages: ReceivedMail[];
  /** Messages to `address`, newest last. */
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

/** `port`: listen on a given port (a test that starts with SMTP down brings it up there later); any free one by default. */
export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username });
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        parse(Buffer.concat(chunks)).then((m) => {
          messages.push(m);
          callback();
        }, callback);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://tester:secret@127.0.0.1:${bound}`,
    messages,
    to: (address) => messages.filter((m) => m.to === address),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function readOutbox(dir: string): Promise<ReceivedMail[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.eml')).sort();
  return Promise.all(files.map(async (f) => parse(await readFile(path.join(dir, f)))));
}

/** The link of a given path (`/verify-email`, `/reset-password`) in a message's text part. */
export function linkIn(mail: ReceivedMail, pathname: string): URL {
  const match = mail.text.match(new RegExp(`https?://\\S+${pathname}\\?token=\\S+`));
  if (!match) throw new Error(`no ${pathname} link in: ${mail.text}`);
  return new URL(match[0]);
}

/** A port nothing listens on (yet): an SMTP server that is down. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
