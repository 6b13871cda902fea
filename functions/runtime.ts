/**
 * Where handlers get their dependencies: wired once per cold start. The local
 * server and the tests install local wiring; in Lambda the AWS wiring is built
 * on first use.
 */
import type { Deps } from './core/deps.js';

let current: Promise<Deps> | undefined;
let factory: (() => Promise<Deps>) | undefined;

/** Installs the dependencies every handler of this process uses. */
export function installDeps(deps: Deps | Promise<Deps>): void {
  current = Promise.resolve(deps);
}

/** Registers how to build the dependencies on first use (the Lambda entry does this). */
export function setDepsFactory(build: () => Promise<Deps>): void {
  factory = build;
}

export function getDeps(): Promise<Deps> {
  if (!current) {
    if (!factory) throw new Error('no dependencies wired: call installDeps() or setDepsFactory() first');
    current = factory();
    // A failed cold-start wiring (e.g. a dependency was down) is retried on the next request.
    current.catch(() => {
      current = undefined;
    });
  }
  return current;
}
