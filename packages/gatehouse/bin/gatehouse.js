#!/usr/bin/env node
// In production (NODE_ENV=production in the environment) the CLI runs the JavaScript that `npm run build` put in
// dist/: no compiler loads in the server process, and it starts faster and smaller. Everywhere else, and in
// production before a build, it runs the TypeScript source through tsx, so `npm start` and `npx gatehouse` work
// straight after `npm install` on a fresh clone. Rebuild after every update: dist/ is not refreshed by itself.
import { existsSync } from 'node:fs';

// oidc-provider 9 prints "Unsupported runtime" to stderr when it is first loaded on Node 20, which it supports
// in practice (the OpenID provider's tests run on it here). Loaded once here with that one line held back, so
// the CLI's output and the server's JSON logs stay clean; any other warning still goes through.
const warn = console.warn;
console.warn = (...args) => {
  if (!(typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime'))) warn(...args);
};
try {
  await import('oidc-provider');
} finally {
  console.warn = warn;
}

const dist = new URL('../dist/cli.js', import.meta.url);
if (process.env.NODE_ENV === 'production' && existsSync(dist)) {
  await import(dist.href);
} else {
  if (process.env.NODE_ENV === 'production') {
    console.error('gatehouse: no dist/ build (run `npm run build`); running the TypeScript source through tsx');
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
