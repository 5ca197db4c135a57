// gatehouse serve | migrate | user create | keys rotate
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { openRuntime } from './bootstrap.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db/connect.ts';
import { migrateToLatest } from './db/migrations.ts';
import { AppError } from './errors.ts';
import { serve } from './server.ts';
import { explainStartupFailure } from './startup.ts';
import { createUser } from './users/service.ts';
import { CLIENTS_USAGE, clientsCommand } from './oidc/cli.ts';

const USAGE = `Usage: gatehouse <command>

Commands:
  serve                         start the server
  migrate                       apply database migrations and exit
  user create --email E [--name N] [--admin] [--role R] [--password-stdin]
                                create a user; without --password-stdin a random password is printed once
  keys rotate                   add a new signing key; old keys stay published until their tokens expire
${CLIENTS_USAGE}

Settings come from the environment and a .env file; see the README.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === '--help' || command === 'help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  // No default command: `gatehouse` alone, or a typo, must not start a server on port 3000.
  if (!command) {
    console.error(USAGE);
    return 2;
  }
  if (!KNOWN_COMMANDS.has(command)) {
    console.error(`Unknown command: ${command}\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();

  if (command === 'serve') {
    await serve(config);
    return -1;
  }
  if (command === 'migrate') {
    let database: ReturnType<typeof openDatabase>;
    try {
      database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    } catch (err) {
      throw explainStartupFailure(err, config);
    }
    try {
      const result = await migrateToLatest(database.db).catch((err: unknown) => Promise.reject(explainStartupFailure(err, config)));
      const applied = result.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date');
    } finally {
      await database.close();
    }
    return 0;
  }
  if (command === 'user' && sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        email: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string' },
        admin: { type: 'boolean', default: false },
        'password-stdin': { type: 'boolean', default: false },
      },
    });
    if (!values.email) throw new Error('--email is required');
    const generated = values['password-stdin'] ? null : randomBytes(18).toString('base64url');
    const password = generated ?? (await readStdin());
    const runtime = await openRuntime(config);
    try {
      const user = await createUser(runtime.ctx, {
        email: values.email,
        name: values.name,
        password,
        role: values.admin ? 'admin' : (values.role ?? 'user'),
        emailVerified: true,
      });
      console.log(`Created ${user.role} ${user.email} (id ${user.id})`);
      if (generated) console.log(`Password (shown once): ${generated}`);
    } finally {
      await runtime.close();
    }
    return 0;
  }
  if (command === 'keys' && sub === 'rotate') {
    const runtime = await openRuntime(config);
    try {
      const key = await runtime.ctx.keyRing.rotate();
      console.log(`New signing key ${key.kid} (${key.alg}): published now, signing in ${config.keyActivationDelayMs / 1000} s (KEY_ACTIVATION_DELAY); previous keys stay published until their tokens expire`);
    } finally {
      await runtime.close();
    }
    return 0;
  }
  if (command === 'clients') {
    const runtime = await openRuntime(config);
    let code: number;
    try {
      code = await clientsCommand(runtime, sub, rest, (line) => console.log(line));
    } finally {
      await runtime.close();
    }
    if (code !== 2) return code;
  }
  console.error(`Unknown command: ${[command, sub].filter(Boolean).join(' ')}\n\n${USAGE}`);
  return 2;
}

const KNOWN_COMMANDS = new Set(['serve', 'migrate', 'user', 'keys', 'clients']);

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(`Configuration error: ${err.message}`);
    else if (err instanceof AppError) {
      console.error(`${err.code}: ${err.message}${err.details ? ' — ' + err.details.map((d) => `${d.field}: ${d.message}`).join('; ') : ''}`);
    } else console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
