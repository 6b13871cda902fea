/**
 * Cold-start figures per function, each beside its floors in the same run:
 * the function's bundle built with the stack's exact esbuild settings, a
 * bundle that only imports and constructs the AWS SDK clients that function
 * uses (default settings: the "SDK floor"), and an empty handler. Each sample
 * is a fresh Node process importing one bundle; the three are interleaved so
 * machine noise hits them alike, and medians are reported.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { esbuildOptionsFor } from '../lib/constructs/endpoint-function.js';
import { awsClientsOf, type AwsClientName } from '../functions/adapters/aws/clients-of.js';
import { routes, type RouteDefinition } from '../functions/routes.js';

export interface FunctionFigures {
  name: string;
  bytes: number;
  gzip_bytes: number;
  cold_import_ms: number;
  sdk_floor_ms: number;
  empty_ms: number;
  /** The SDK clients its floor constructs. */
  sdk_clients: AwsClientName[];
}

const PACKAGE_OF: Record<AwsClientName, { module: string; cls: string }> = {
  dynamodb: { module: '@aws-sdk/client-dynamodb', cls: 'DynamoDBClient' },
  kms: { module: '@aws-sdk/client-kms', cls: 'KMSClient' },
  secretsmanager: { module: '@aws-sdk/client-secrets-manager', cls: 'SecretsManagerClient' },
  ses: { module: '@aws-sdk/client-ses', cls: 'SESClient' },
  sns: { module: '@aws-sdk/client-sns', cls: 'SNSClient' },
  eventbridge: { module: '@aws-sdk/client-eventbridge', cls: 'EventBridgeClient' },
};

/** The floor's source: import and construct exactly these clients, default settings, and a handler. */
function floorSource(clients: AwsClientName[]): string {
  const lines = clients.map((c, i) => `import { ${PACKAGE_OF[c].cls} as C${i} } from '${PACKAGE_OF[c].module}';`);
  lines.push(`export const clients = [${clients.map((_, i) => `new C${i}({})`).join(', ')}];`);
  lines.push('export const handler = async () => ({ statusCode: 200 });');
  return lines.join('\n');
}

async function bundle(options: BuildOptions): Promise<Uint8Array> {
  const result = await build({ ...options, write: false, logLevel: 'error' });
  return result.outputFiles![0]!.contents;
}

const IMPORT_TIMER = `const t = process.hrtime.bigint(); await import(process.argv[1]); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;

/** Milliseconds a fresh Node process takes to import `file` (module evaluation included). */
function importMs(file: string): number {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', IMPORT_TIMER, file], {
    env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_LAMBDA_FUNCTION_NAME: 'bench' },
    encoding: 'utf8',
  });
  return Number(out);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measureFunctions(samples: number, only?: RegExp, progress: (line: string) => void = () => {}): Promise<FunctionFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'twofold-bench-'));
  try {
    const emptyFile = join(dir, 'empty.mjs');
    writeFileSync(emptyFile, await bundle({ ...esbuildOptionsFor(undefined), stdin: { contents: 'export const handler = async () => ({ statusCode: 200 });', loader: 'ts' } }));
    const floors = new Map<string, string>();
    const figures: FunctionFigures[] = [];
    const selected = routes.filter((r) => !only || only.test(r.name));
    for (const [i, route] of selected.entries()) {
      progress(`bundling ${i + 1}/${selected.length} ${route.name}`);
      const code = await bundle({ ...esbuildOptionsFor(route), entryPoints: [`functions/handlers/${route.name}.ts`] });
      const file = join(dir, `${route.name}.mjs`);
      writeFileSync(file, code);
      const clients = awsClientsOf(route);
      const floorKey = clients.join('+') || 'none';
      if (!floors.has(floorKey)) {
        const floorFile = join(dir, `floor-${floorKey}.mjs`);
        writeFileSync(floorFile, await bundle({ ...esbuildOptionsFor(undefined), stdin: { contents: floorSource(clients), loader: 'ts', resolveDir: process.cwd() } }));
        floors.set(floorKey, floorFile);
      }
      const own: number[] = [];
      const floor: number[] = [];
      const empty: number[] = [];
      for (let s = 0; s < samples; s++) {
        own.push(importMs(file));
        floor.push(importMs(floors.get(floorKey)!));
        empty.push(importMs(emptyFile));
      }
      figures.push({
        name: route.name,
        bytes: code.length,
        gzip_bytes: gzipSync(code).length,
        cold_import_ms: round(median(own)),
        sdk_floor_ms: round(median(floor)),
        empty_ms: round(median(empty)),
        sdk_clients: clients,
      });
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function round(n: number, places = 2): number {
  const f = 10 ** places;
  return Math.round(n * f) / f;
}

export type { RouteDefinition };
