/**
 * `npm run bundle-sizes`: bundles every route's handler the way the CDK stack
 * does (esbuild, minified ESM for node22, per-route defines) and prints the
 * sizes, largest first, with what weighs most in the largest bundle.
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { bundleDefines, ESM_REQUIRE_BANNER } from '../lib/constructs/endpoint-function.js';
import { routes } from '../functions/routes.js';

const rows: Array<{ route: string; kb: number; gzip_kb: number }> = [];
let largest: { route: string; bytes: number; inputs: Record<string, { bytesInOutput: number }> } | undefined;
for (const [i, route] of routes.entries()) {
  if (process.stdout.isTTY) process.stdout.write(`\rbundling ${i + 1}/${routes.length} ${route.name.padEnd(40)}`);
  const result = await build({
    entryPoints: [`functions/handlers/${route.name}.ts`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    write: false,
    metafile: true,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    define: bundleDefines(route),
    logLevel: 'error',
  });
  const code = result.outputFiles[0]!.contents;
  rows.push({ route: route.name, kb: Math.round(code.length / 1024), gzip_kb: Math.round(gzipSync(code).length / 1024) });
  if (!largest || code.length > largest.bytes) {
    largest = { route: route.name, bytes: code.length, inputs: Object.values(result.metafile.outputs)[0]!.inputs };
  }
}
if (process.stdout.isTTY) process.stdout.write(`\r${' '.repeat(60)}\r`);
console.table(rows.sort((a, b) => b.kb - a.kb));
const byPackage = new Map<string, number>();
for (const [file, { bytesInOutput }] of Object.entries(largest!.inputs)) {
  const parts = file.split('node_modules/')[1]?.split('/');
  const name = parts ? (parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!) : '(twofold)';
  byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
}
process.stdout.write(`\nLargest bundle (${largest!.route}), by package:\n`);
for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
  process.stdout.write(`  ${String(Math.round(bytes / 1024)).padStart(5)} KB  ${name}\n`);
}
