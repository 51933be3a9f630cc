// CLI of the tiny-model generator: `npx tsx scripts/models/build.ts [--demo-only] [--out <dir>] [--quiet]`.
// Writes public/models/demo (PSA bundle) and public/models/demo-plain (plain SD1.5 bundle) by default.
// `--demo-only` (npm run models:demo) builds the same two bundles: both are the demo set and take about a second.
import { resolve } from 'node:path';
import { buildBundles } from './bundle';

function main(argv: string[]): void {
  const outIdx = argv.indexOf('--out');
  const outDir = resolve(outIdx >= 0 ? argv[outIdx + 1] : 'public/models');
  const quiet = argv.includes('--quiet');
  const t0 = performance.now();
  const bundles = buildBundles({ outDir, log: quiet ? undefined : (l) => console.log(l) });
  const files = bundles.reduce((n, b) => n + b.files.length, 0);
  console.log(`tiny models: ${bundles.length} bundles, ${files} files in ${outDir} (${Math.round(performance.now() - t0)} ms)`);
}

main(process.argv.slice(2));
