// The pages' stylesheet and script, served as files so the CSP can refuse inline code. The brand colour
// is written into the stylesheet as a custom property; the URL carries a content hash, so it is cached for good.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.ts';
import { sha256 } from '../../crypto/random.ts';
import type { App } from '../types.ts';

const folder = fileURLToPath(new URL('../../../assets/', import.meta.url));

/**
 * @simplewebauthn/browser's own browser bundle (one file; it defines window.SimpleWebAuthnBrowser), served from
 * node_modules as a same-origin file: no CDN, and the version is the one package-lock.json pins.
 */
function webauthnBundle(): string {
  // The package exports only its entry points: find its folder from the CommonJS one, then the bundle beside it.
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return readFileSync(join(dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
}

interface Asset {
  type: string;
  body: string;
  etag: string;
}

/** The scripts of the pages with passkey buttons, in order: the WebAuthn library, then the pages' use of it. */
export const PASSKEY_SCRIPTS = ['/assets/simplewebauthn-browser.js', '/assets/passkeys.js'] as const;

export function loadAssets(config: Config): { version: string; files: Map<string, Asset> } {
  // BRAND_COLOR is validated as #rrggbb, so nothing else can reach the stylesheet.
  const css = `:root { --brand: ${config.brandColor}; }\n${readFileSync(folder + 'gatehouse.css', 'utf8')}`;
  const js = readFileSync(folder + 'gatehouse.js', 'utf8');
  // Passkeys: only the pages that offer them load these two (PageView.scripts).
  const passkeys = readFileSync(folder + 'passkeys.js', 'utf8');
  const webauthn = webauthnBundle();
  const script = (body: string): Asset => ({ type: 'text/javascript; charset=utf-8', body, etag: `"${sha256(body).slice(0, 16)}"` });
  const files = new Map<string, Asset>([
    ['/assets/gatehouse.css', { type: 'text/css; charset=utf-8', body: css, etag: `"${sha256(css).slice(0, 16)}"` }],
    ['/assets/gatehouse.js', script(js)],
    [PASSKEY_SCRIPTS[0], script(webauthn)],
    [PASSKEY_SCRIPTS[1], script(passkeys)],
  ]);
  return { version: sha256(css + js + webauthn + passkeys).slice(0, 12), files };
}

export function assetRoutes(app: App, assets: ReturnType<typeof loadAssets>): void {
  for (const [path, asset] of assets.files) {
    const mediaType = asset.type.split(';')[0]!;
    const schema = {
      response: {
        200: { description: 'The file', content: { [mediaType]: { schema: { type: 'string' } } } },
        304: { type: 'null', description: 'Not modified (If-None-Match matched the ETag)' },
      },
    };
    app.get(path, { schema }, async (request, reply) => {
      reply
        .header('content-type', asset.type)
        // Pages link to ?v=<hash of the content>: a new version is a new URL.
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('etag', asset.etag);
      if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
      return reply.send(asset.body);
    });
  }
}
