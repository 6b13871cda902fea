/**
 * API clients (contract section 2): created by an admin command, which prints
 * the secret once; only its hash is stored.
 */
import { ConflictError, OAuthError, UnauthorizedError } from '../errors.js';
import type { Store } from '../ports.js';
import { emitAudit } from './audit.js';
import { constantTimeEqual, randomToken, sha256 } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, type ClientRecord, type MfaPolicy } from './model.js';
import { issueClientToken, verifyClientToken, type ClientTokenResponse } from './tokens.js';

export const CLIENT_DEFAULTS = {
  mfa_policy: 'factor_classes' as MfaPolicy,
  session_idle_timeout_seconds: 24 * 3600,
  session_absolute_lifetime_seconds: 14 * 24 * 3600,
  bind_sessions_to_ip: true,
  allow_direct_delivery: false,
  reveal_unknown_users: false,
  send_budget_per_hour: 1000,
  sms_budget_per_hour: 1000,
  refresh_reuse_grace_seconds: 0,
  enrolment_max_age_seconds: 900,
} as const;

/** The longest refresh reuse grace a client may set: it is for double submits, not for sharing tokens. */
export const MAX_REFRESH_REUSE_GRACE_SECONDS = 60;
/** Bounds of `enrolment_max_age_seconds`: at least a minute to finish a ceremony, at most a day (a week-old MFA is no proof). */
export const MIN_ENROLMENT_MAX_AGE_SECONDS = 60;
export const MAX_ENROLMENT_MAX_AGE_SECONDS = 86_400;

export type ClientSettings = Omit<ClientRecord, 'client_id' | 'name' | 'secret_hash' | 'created_at'>;

export interface CreateClientInput extends Partial<ClientSettings> {
  name: string;
  client_id?: string;
  /** Supply a secret (the local seed does); otherwise 256 random bits are generated. */
  client_secret?: string;
}

/** Creates a client and returns it with its secret, which is never stored in clear. */
export async function createClient(
  store: Store,
  now: number,
  input: CreateClientInput,
): Promise<{ client: ClientRecord; client_secret: string }> {
  const { client_secret = randomToken(32), client_id = `c_${randomToken(12)}`, name, ...settings } = input;
  const client: ClientRecord = {
    ...CLIENT_DEFAULTS,
    redirect_uris: [],
    ...stripUndefined(settings),
    client_id,
    name,
    secret_hash: sha256(client_secret),
    created_at: now,
  };
  try {
    await store.put(keys.client(client_id), client, { expectVersion: null });
  } catch (error) {
    if (error instanceof ConflictError) throw new Error(`client ${client_id} already exists`);
    throw error;
  }
  return { client, client_secret };
}

/**
 * Changes a client's settings (admin command); `unset` removes optional ones
 * (back to their default). Other processes see the change within CLIENT_CACHE_MS.
 */
export async function updateClient(store: Store, clientId: string, settings: Partial<ClientSettings>, unset: ReadonlyArray<keyof ClientSettings> = []): Promise<ClientRecord> {
  const record = await store.get<ClientRecord>(keys.client(clientId));
  if (!record) throw new Error(`client ${clientId} not found`);
  const client = { ...record.value, ...stripUndefined(settings) };
  for (const key of unset) delete client[key];
  await store.put(keys.client(clientId), client, { expectVersion: record.version });
  forgetCachedClients();
  return client;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export async function getClient(deps: Pick<Deps, 'store'>, clientId: string): Promise<ClientRecord | undefined> {
  // A client stored before sends stopped being padded may still hold `send_response_floor_ms`: it is ignored.
  return (await deps.store.get<ClientRecord>(keys.client(clientId)))?.value;
}

/**
 * How long a function instance may go on using a client record it read to
 * authenticate a client or user token: a change of the client's settings, or
 * its deletion, applies to every request at most this long after it was
 * written (at once in the process that wrote it). Requests pay one table read
 * per client and instance every this often instead of one each.
 */
export const CLIENT_CACHE_MS = 30_000;
/** More distinct clients than this in one instance empties the cache (deployments have a handful). */
const MAX_CACHED_CLIENTS = 1000;

/** Per store (each route's function has its own) and client id: the record, when it was read (injected clock), and in which generation. */
const cachedClients = new WeakMap<Store, Map<string, { client: ClientRecord; readAt: number; generation: number }>>();
let cacheGeneration = 0;

/** Makes every client record cached in this process be read afresh on next use (after a change made here). */
export function forgetCachedClients(): void {
  cacheGeneration += 1;
}

/**
 * The client `clientId`, read at most CLIENT_CACHE_MS ago (judged by the
 * injected clock; a clock that went back reads afresh). A client that does
 * not exist is never cached, so one created meanwhile is found at once.
 */
export async function getClientCached(deps: Pick<Deps, 'store' | 'clock'>, clientId: string): Promise<ClientRecord | undefined> {
  const now = deps.clock.now();
  let cache = cachedClients.get(deps.store);
  if (!cache) cachedClients.set(deps.store, (cache = new Map()));
  const hit = cache.get(clientId);
  if (hit && hit.generation === cacheGeneration && now >= hit.readAt && now - hit.readAt < CLIENT_CACHE_MS) return hit.client;
  const client = await getClient(deps, clientId);
  if (!client) {
    cache.delete(clientId);
    return undefined;
  }
  if (cache.size >= MAX_CACHED_CLIENTS) cache.clear();
  cache.set(clientId, { client, readAt: now, generation: cacheGeneration });
  return client;
}

/** `POST /oidc/token` with `grant_type=client_credentials`. */
export async function exchangeClientCredentials(
  deps: Deps,
  clientId: string,
  clientSecret: string,
  ip: string | null = null,
): Promise<ClientTokenResponse> {
  const client = await getClient(deps, clientId);
  // Compare against a dummy hash for unknown clients so timing does not reveal which ids exist.
  const ok = constantTimeEqual(client?.secret_hash ?? sha256(`unknown:${clientId}`), sha256(clientSecret));
  const audit = { event: 'client_authentication', user_id: null, client_id: client?.client_id ?? null, method: 'client_secret', ip } as const;
  if (!client || !ok) {
    await emitAudit(deps, { ...audit, outcome: 'invalid_client' });
    throw new OAuthError('invalid_client', 401, 'Client authentication failed');
  }
  const token = await issueClientToken(deps, client);
  await emitAudit(deps, { ...audit, outcome: 'success' });
  return token;
}

/** Resolves the client behind a `Bearer` client access token. */
export async function authenticateClientToken(deps: Deps, token: string): Promise<ClientRecord> {
  const clientId = await verifyClientToken(deps, token);
  const client = await getClientCached(deps, clientId);
  if (!client) throw new UnauthorizedError('The client of this token no longer exists');
  return client;
}
