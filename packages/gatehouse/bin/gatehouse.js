#!/usr/bin/env node
// In production (NODE_ENV=production in the environment) the CLI runs the JavaScript that `npm run build` put in
// dist/: no compiler loads in the server process, and it starts faster and smaller. Everywhere else, and in
// production before a build, it runs the TypeScript source through tsx, so `npm start` and `npx gatehouse` work
// straight after `npm install` on a fresh clone. Rebuild after every update: dist/ is not refreshed by itself.
import { existsSync } from 'node:fs';

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
