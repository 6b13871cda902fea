/**
 * Where handlers get their dependencies: wired once per cold start. The local
 * server and the tests install local wiring; in Lambda the AWS wiring is built
 * on first use.
 *
 * The AWS wiring is imported statically although only Lambda builds it: esbuild
 * cannot tree-shake what a dynamic import reaches, so a lazy `import()` made
 * every bundle carry each SDK client's every command and schema (50 to 150 KB
 * per function). Which clients a bundle holds is decided by bundle-time
 * defines instead (lib/constructs/endpoint-function.ts `bundleDefines`).
 */
import { buildAwsDeps } from './adapters/aws/wiring.js';
import type { Deps } from './core/deps.js';
import { installPublicSettings } from './public-settings.js';
import type { FunctionNeeds } from './access.js';

let current: Promise<Deps> | undefined;

/** Installs the dependencies every handler of this process uses. */
export function installDeps(deps: Deps | Promise<Deps>): void {
  const installed = Promise.resolve(deps);
  current = installed;
  const settings = installed.then((d) => ({ issuer: d.settings.issuer }));
  settings.catch(() => {}); // a failed wiring is reported by the handlers that await it
  installPublicSettings(settings, () => installed.then((d) => d.signer.publicKeys()));
}

/**
 * The dependencies of this process. In Lambda, one function serves one
 * route: the first caller's route decides which secrets the cold start reads.
 */
export function getDeps(route?: FunctionNeeds): Promise<Deps> {
  if (!current) {
    // Nothing installed (a Lambda cold start): wire AWS.
    current = buildAwsDeps(undefined, undefined, route);
    // A failed cold-start wiring (e.g. a dependency was down) is retried on the next request.
    current.catch(() => {
      current = undefined;
    });
  }
  return current;
}
