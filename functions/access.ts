/**
 * What each route's function may touch, from the route table: the same
 * declaration grants IAM permissions in the stack (lib/twofold-stack.ts) and
 * restricts the dependencies a handler receives (functions/http/endpoint.ts),
 * so an undeclared access fails every local test with a clear message instead
 * of an AccessDenied in AWS.
 *
 * Table records are named by their kind in core/model.ts `keys`; a kind's key
 * prefix (`user#`, `rate#dest#`, ...) becomes a `dynamodb:LeadingKeys` condition.
 */
import type { Deps } from './core/deps.js';
import { keys } from './core/model.js';
import type { Audit, DeliveryQueue, Mailer, Signer, SmsSender, Store } from './ports.js';
import type { RouteDefinition } from './routes.js';

/** What a function declares about its needs: a route of the route table, or a worker (functions/workers.ts). */
export type FunctionNeeds = Pick<RouteDefinition, 'name' | 'auth' | 'capabilities' | 'table'>;

/**
 * `sign`: kms:Sign (issues tokens); `public-keys`: the public keys put in at
 * deploy time (publishes the JWKS or verifies tokens; no AWS call, so no IAM
 * grant; routes with client or user auth get it anyway); `queue`: puts
 * deliveries on the delivery queue (sends); `email`, `sms`: SES and SNS
 * (only the delivery sender);
 * `hash-key`: the keyed-hash secret (OTPs, link codes, send limits);
 * `totp-key`: the keys that seal TOTP seeds; `user-token-key`: the keys of
 * the user access tokens' MAC (mints them with a token response, checks them
 * on user-token routes; implied, see needsOf); `audit`: emits audit events
 * (docs/audit.md), so may put them on the audit bus when one is enabled.
 */
export type Capability = 'sign' | 'public-keys' | 'queue' | 'email' | 'sms' | 'hash-key' | 'totp-key' | 'user-token-key' | 'audit';

/** A kind of table record: a key of core/model.ts `keys`. */
export type RecordKind = keyof typeof keys;

/** Records a route reads (GetItem, BatchGetItem) and writes (PutItem, UpdateItem, DeleteItem; writing implies reading). */
export interface TableAccess {
  read?: readonly RecordKind[];
  write?: readonly RecordKind[];
}

export interface RouteNeeds {
  capabilities: ReadonlySet<Capability>;
  /** Kinds the route may read: its reads and its writes. */
  read: ReadonlySet<RecordKind>;
  write: ReadonlySet<RecordKind>;
}

/**
 * Declared needs plus what the route's `auth` implies: a client access token
 * is verified with the public keys and resolved to its client record; the
 * token endpoint reads the client record. A route that declares nothing gets
 * nothing else: no table, no secret, no key.
 */
export function needsOf(route: Pick<RouteDefinition, 'auth' | 'capabilities' | 'table'>): RouteNeeds {
  const capabilities = new Set<Capability>(route.capabilities ?? []);
  const write = new Set<RecordKind>(route.table?.write ?? []);
  const read = new Set<RecordKind>([...(route.table?.read ?? []), ...write]);
  if (route.auth === 'client') {
    capabilities.add('public-keys');
    read.add('client');
  } else if (route.auth === 'user') {
    // A user access token is checked with the user-token key, then its client, session and user are read.
    capabilities.add('user-token-key');
    for (const kind of ['client', 'session', 'user'] as const) read.add(kind);
  } else if (route.auth === 'client_credentials') {
    read.add('client');
  }
  if (capabilities.has('sign')) capabilities.add('public-keys');
  // Every signing route but the token endpoint answers with a token response, whose access token it mints.
  if (capabilities.has('sign') && route.auth !== 'client_credentials') capabilities.add('user-token-key');
  return { capabilities, read, write };
}

/**
 * Kinds that name no record but an owner in the table's index (Store
 * `keysOwnedBy`): reading one is a Query of the index, not a GetItem.
 */
export const OWNER_KINDS: ReadonlySet<RecordKind> = new Set(['sessionsOf']);

/** The fixed start of every key of `kind`: what the key function returns before its first argument. */
export function keyPrefix(kind: RecordKind): string {
  const make = keys[kind] as (...args: string[]) => string;
  const marker = '\u0000';
  const sample = make(...Array.from({ length: Math.max(1, make.length) }, () => marker));
  return sample.slice(0, sample.indexOf(marker));
}

const prefixes = (Object.keys(keys) as RecordKind[])
  .map((kind) => ({ kind, prefix: keyPrefix(kind) }))
  .sort((a, b) => b.prefix.length - a.prefix.length);

/** The kind of a stored key (the longest matching prefix), or undefined. */
export function kindOfKey(key: string): RecordKind | undefined {
  return prefixes.find(({ prefix }) => key.startsWith(prefix))?.kind;
}

/** An access the route table does not declare: a bug in the route's entry, never a client error (500). */
export class UndeclaredAccessError extends Error {
  constructor(route: string, what: string, fix: string) {
    super(`route ${route} ${what} without declaring it: ${fix} in its entry of functions/routes.ts`);
    this.name = 'UndeclaredAccessError';
    if (process.env.TRACE_ACCESS) process.stderr.write(`ACCESS: ${this.message}\n`);
  }
}

/**
 * What each store operation does to the record it names: a new operation
 * must say (the type makes this table list every one), and the guard below
 * checks it against the route's `table` declaration before passing it on.
 */
const STORE_ACCESS: { readonly [Method in keyof Store]: 'read' | 'write' } = {
  get: 'read',
  getMany: 'read',
  keysOwnedBy: 'read',
  put: 'write',
  overwrite: 'write',
  countGuess: 'write',
  uncountGuess: 'write',
  delete: 'write',
  increment: 'write',
  countAttempt: 'write',
  getAttempts: 'read',
  restartAttempts: 'write',
  uncountAttempt: 'write',
  logSendOnRecord: 'write',
  getRecordSendLog: 'read',
};

function guardStore(deps: Deps, route: string, needs: RouteNeeds): Store {
  const check = (key: string, op: 'read' | 'write') => {
    const kind = kindOfKey(key);
    const allowed = kind !== undefined && (op === 'read' ? needs.read : needs.write).has(kind);
    if (!allowed) {
      // Never the key itself: it can hold an email address or phone number.
      throw new UndeclaredAccessError(route, `${op === 'read' ? 'read' : 'wrote'} a "${kind ?? 'unknown'}" record`, `add '${kind ?? '?'}' to table.${op}`);
    }
  };
  const guarded = Object.fromEntries(
    Object.entries(STORE_ACCESS).map(([method, op]) => [
      method,
      // async: a refusal is a rejected promise, as the store's own failures are.
      async (key: string | readonly string[], ...rest: unknown[]) => {
        // getMany names many keys: every one must be declared, as each would be read alone.
        for (const each of typeof key === 'string' ? [key] : key) check(each, op);
        return (deps.store[method as keyof Store] as (key: string | readonly string[], ...rest: unknown[]) => Promise<unknown>)(key, ...rest);
      },
    ]),
  );
  return guarded as unknown as Store;
}

/**
 * The dependencies as the route's IAM role would let it use them. Methods
 * reach `deps` at call time, so tests that swap a port after installing
 * dependencies are honoured.
 */
export function restrictDeps(deps: Deps, route: FunctionNeeds): Deps {
  // Built once per dependencies and route, not per request: the wrappers are the
  // objects caches key on (tokens.ts keeps one verification key set per signer).
  let byRoute = restricted.get(deps);
  if (!byRoute) restricted.set(deps, (byRoute = new WeakMap()));
  let built = byRoute.get(route);
  if (!built) byRoute.set(route, (built = buildRestrictedDeps(deps, route)));
  return built;
}

const restricted = new WeakMap<Deps, WeakMap<FunctionNeeds, Deps>>();

function buildRestrictedDeps(deps: Deps, route: FunctionNeeds): Deps {
  const needs = needsOf(route);
  const has = (capability: Capability) => needs.capabilities.has(capability);
  const refuse = (capability: Capability) => async (): Promise<never> => {
    throw new UndeclaredAccessError(route.name, `used capability '${capability}'`, `add '${capability}' to capabilities`);
  };
  const signer: Signer = {
    currentKeyId: has('public-keys') ? () => deps.signer.currentKeyId() : refuse('sign'),
    publicKeys: has('public-keys') ? () => deps.signer.publicKeys() : refuse('public-keys'),
    sign: has('sign') ? (input) => deps.signer.sign(input) : refuse('sign'),
  };
  const mailer: Mailer = { sendEmail: has('email') ? (message) => deps.mailer.sendEmail(message) : refuse('email') };
  const sms: SmsSender = { sendSms: has('sms') ? (message) => deps.sms.sendSms(message) : refuse('sms') };
  const queue: DeliveryQueue = { enqueue: has('queue') ? (body) => deps.queue.enqueue(body) : refuse('queue') };
  const audit: Audit = { record: has('audit') ? (event) => deps.audit.record(event) : refuse('audit') };
  // Every other field reads `deps` at use, as the guarded ports do.
  const view = {} as Deps;
  for (const field of Object.keys(deps) as Array<keyof Deps>) {
    Object.defineProperty(view, field, { enumerable: true, configurable: true, get: () => deps[field] });
  }
  const ports = { store: guardStore(deps, route.name, needs), signer, queue, mailer, sms, audit };
  for (const [field, value] of Object.entries(ports)) Object.defineProperty(view, field, { enumerable: true, value });
  const secret = <K extends keyof Deps>(field: K, capability: Capability) =>
    Object.defineProperty(view, field, {
      enumerable: true,
      get: () => {
        if (!has(capability)) throw new UndeclaredAccessError(route.name, `used capability '${capability}'`, `add '${capability}' to capabilities`);
        return deps[field];
      },
    });
  secret('hashKey', 'hash-key');
  secret('totpKeys', 'totp-key');
  secret('userTokenKeys', 'user-token-key');
  return view;
}
