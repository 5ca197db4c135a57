#!/usr/bin/env node
// Adds or replaces messages in every catalogue at once, keeping keys sorted:
//   node scripts/i18n-put.mjs messages.json     where messages.json is { "en": { "key": "…" }, "ko": { "key": "…" } }
//   node scripts/i18n-put.mjs --remove key …
// Several editors at once: run it under `flock /tmp/gatehouse-i18n.lock`.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'i18n');
const locales = ['en', 'ko'];
const load = (l) => JSON.parse(readFileSync(path.join(dir, `${l}.json`), 'utf8'));
const save = (l, messages) => {
  const sorted = Object.fromEntries(Object.entries(messages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const file = path.join(dir, `${l}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(sorted, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
};

const args = process.argv.slice(2);
if (args[0] === '--remove') {
  for (const l of locales) {
    const m = load(l);
    for (const key of args.slice(1)) delete m[key];
    save(l, m);
  }
} else if (args.length === 1) {
  const input = JSON.parse(readFileSync(args[0], 'utf8'));
  // Plural forms other than "other" depend on the language (Korean has none): they are not compared.
  const keys = (m) => Object.keys(m ?? {}).filter((k) => !/\.(zero|one|two|few|many)$/.test(k)).sort().join('\n');
  for (const l of locales) {
    if (keys(input[l]) !== keys(input.en)) throw new Error(`${args[0]}: "${l}" must have exactly the keys of "en" (plural forms aside)`);
  }
  for (const l of locales) save(l, { ...load(l), ...input[l] });
} else {
  console.error('usage: i18n-put.mjs messages.json | --remove key …');
  process.exit(2);
}
