// After `vite build`: gzip the built assets (the Go server sends the .gz
// file to browsers that take gzip, so nothing is compressed per request)
// and put back the placeholder that keeps the embed directory in git.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const dist = new URL('../../internal/ui/dist/', import.meta.url).pathname;
const assets = join(dist, 'assets');
let total = 0;
for (const name of readdirSync(assets)) {
  if (!/\.(js|css)$/.test(name)) continue;
  const gz = gzipSync(readFileSync(join(assets, name)), { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(join(assets, name + '.gz'), gz);
  total += gz.length;
}
writeFileSync(join(dist, '.keep'), '');
console.log(`ui: ${(total / 1024).toFixed(1)} kB of JS and CSS gzipped`);
