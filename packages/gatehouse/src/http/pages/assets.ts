// The pages' stylesheet and script, served as files so the CSP can refuse inline code. The brand colour
// is written into the stylesheet as a custom property; the URL carries a content hash, so it is cached for good.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.ts';
import { sha256 } from '../../crypto/random.ts';
import type { App } from '../types.ts';

const folder = fileURLToPath(new URL('../../../assets/', import.meta.url));

interface Asset {
  type: string;
  body: string;
  etag: string;
}

export function loadAssets(config: Config): { version: string; files: Map<string, Asset> } {
  // BRAND_COLOR is validated as #rrggbb, so nothing else can reach the stylesheet.
  const css = `:root { --brand: ${config.brandColor}; }\n${readFileSync(folder + 'gatehouse.css', 'utf8')}`;
  const js = readFileSync(folder + 'gatehouse.js', 'utf8');
  const files = new Map<string, Asset>([
    ['/assets/gatehouse.css', { type: 'text/css; charset=utf-8', body: css, etag: `"${sha256(css).slice(0, 16)}"` }],
    ['/assets/gatehouse.js', { type: 'text/javascript; charset=utf-8', body: js, etag: `"${sha256(js).slice(0, 16)}"` }],
  ]);
  return { version: sha256(css + js).slice(0, 12), files };
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
