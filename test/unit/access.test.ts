/**
 * The route table's declared needs, enforced on the dependencies a handler
 * receives exactly as the IAM role enforces them in AWS: what is not declared
 * fails loudly, naming the fix, never the key (it can hold a contact).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyPrefix, kindOfKey, needsOf, restrictDeps, UndeclaredAccessError } from '../../functions/access.js';
import { LocalSigner } from '../../functions/adapters/local/local-signer.js';
import { Outbox } from '../../functions/adapters/local/outbox.js';
import type { Deps } from '../../functions/core/deps.js';
import { keys } from '../../functions/core/model.js';
import type { Store } from '../../functions/ports.js';
import { routeNamed, routes, type RouteDefinition } from '../../functions/routes.js';

function memoryStore(): Store {
  const items = new Map<string, { value: unknown; version: number }>();
  return {
    get: async (key) => items.get(key) as never,
    getMany: async (keys) => new Map(keys.flatMap((key) => (items.has(key) ? [[key, items.get(key)!] as const] : []))),
    keysOwnedBy: async () => [],
    put: async (key, value) => {
      const version = (items.get(key)?.version ?? 0) + 1;
      items.set(key, { value, version });
      return version;
    },
    delete: async (key) => void items.delete(key),
    increment: async () => 1,
    countAttempt: async () => undefined,
    getAttempts: async () => undefined,
    restartAttempts: async () => true,
    uncountAttempt: async () => {},
    countGuess: async () => undefined,
    uncountGuess: async () => {},
    overwrite: async () => 1,
    logSendOnRecord: async () => undefined,
    getRecordSendLog: async () => ({ times: [], version: 0 }),
  };
}

function fakeDeps(): Deps {
  const outbox = new Outbox();
  return {
    store: memoryStore(),
    queue: { enqueue: async () => {} },
    mailer: outbox,
    sms: outbox,
    signer: new LocalSigner(),
    clock: { now: () => 0 },
    logger: { info() {}, warn() {}, error() {} },
    audit: { record: async () => {} },
    settings: { issuer: 'https://twofold.test', appName: 'Twofold', tokenTtlSeconds: 3600, scrypt: { N: 2 ** 12, r: 8, p: 1 } },
    hashKey: randomBytes(32),
    totpKeys: { current: '1', keys: { '1': randomBytes(32) } },
    userTokenKeys: { current: '1', keys: { '1': randomBytes(32) } },
  };
}

const route = (fields: Partial<RouteDefinition>): RouteDefinition => ({
  name: 'test-route',
  method: 'POST',
  path: '/test',
  auth: 'none',
  summary: 'test',
  tag: 'Meta',
  success: { status: 200, description: 'ok' },
  ...fields,
});

describe('record kinds', () => {
  it('take their key prefix from core/model.ts keys', () => {
    expect(keyPrefix('user')).toBe('user#');
    expect(keyPrefix('sendRate')).toBe('rate#dest#');
    expect(keyPrefix('sendBudget')).toBe('rate#client#');
    expect(keyPrefix('otp')).toBe('otp#');
  });

  it('tell a key by its longest prefix, so a username claim is never a user', () => {
    expect(kindOfKey(keys.usernameClaim('ada'))).toBe('usernameClaim');
    expect(kindOfKey(keys.user('u1'))).toBe('user');
    expect(kindOfKey(keys.sendBudget('c', 1))).toBe('sendBudget');
    // The SMS budget counts apart, under the same grant.
    expect(kindOfKey(keys.sendBudget('c', 1, 'sms'))).toBe('sendBudget');
    expect(kindOfKey('other#x')).toBeUndefined();
  });
});

describe('a route that declares nothing', () => {
  const deps = restrictDeps(fakeDeps(), route({}));

  it('may not touch the table, any secret, the signing key or any delivery, and is told where to declare it', async () => {
    await expect(deps.store.get(keys.user('u1'))).rejects.toThrow(UndeclaredAccessError);
    await expect(deps.store.get(keys.user('u1'))).rejects.toThrow(/route test-route read a "user" record without declaring it: add 'user' to table.read in its entry of functions\/routes.ts/);
    expect(() => deps.hashKey).toThrow(/'hash-key'/);
    expect(() => deps.totpKeys).toThrow(/'totp-key'/);
    await expect(deps.signer.sign(new Uint8Array(1))).rejects.toThrow(/'sign'/);
    await expect(deps.signer.publicKeys()).rejects.toThrow(/'public-keys'/);
    await expect(deps.mailer.sendEmail({ to: 'a@b.example', subject: 's', text: 't', html: 'h' })).rejects.toThrow(/'email'/);
    await expect(deps.sms.sendSms({ to: '+15551234567', text: 't' })).rejects.toThrow(/'sms'/);
    await expect(deps.queue.enqueue('sealed')).rejects.toThrow(/'queue'/);
  });

  it('never names the key it refused: keys carry contacts', async () => {
    const error = await deps.store.get(keys.emailClaim('ada@example.com')).catch((e: Error) => e);
    expect((error as Error).message).not.toContain('ada@example.com');
  });
});

describe('declared needs', () => {
  it('a client-token route may read client records and the public keys, and nothing else by default', async () => {
    const deps = restrictDeps(fakeDeps(), route({ auth: 'client' }));
    await expect(deps.store.get(keys.client('c1'))).resolves.toBeUndefined();
    await expect(deps.signer.publicKeys()).resolves.toHaveLength(1);
    await expect(deps.store.put(keys.client('c1'), {}, { expectVersion: null })).rejects.toThrow(/table.write/);
    await expect(deps.signer.sign(new Uint8Array(1))).rejects.toThrow(/'sign'/);
  });

  it('read allows reads only; write allows reads, writes, deletes and increments', async () => {
    const deps = restrictDeps(fakeDeps(), route({ table: { read: ['user'], write: ['otp'] } }));
    await deps.store.get(keys.user('u1'));
    await expect(deps.store.put(keys.user('u1'), {}, { expectVersion: null })).rejects.toThrow(/add 'user' to table.write/);
    await deps.store.put(keys.otp('u1', 'sms'), {}, { expectVersion: null });
    await deps.store.get(keys.otp('u1', 'sms'));
    await deps.store.increment(keys.otp('u1', 'sms'), 1);
    await deps.store.delete(keys.otp('u1', 'sms'));
  });

  it('a read of many keys at once is allowed only when every key is declared, and never names the key it refused', async () => {
    const store = fakeDeps();
    await store.store.put(keys.user('u1'), { user_id: 'u1' }, { expectVersion: null });
    const deps = restrictDeps(store, route({ table: { read: ['user', 'session'] } }));
    const read = await deps.store.getMany([keys.session('s1'), keys.user('u1')]);
    expect([...read.keys()]).toEqual([keys.user('u1')]);
    // One undeclared key among declared ones (first or last) refuses the whole read.
    const error = await deps.store.getMany([keys.user('u1'), keys.phoneClaim('+15551234567')]).catch((e: Error) => e);
    expect(error).toBeInstanceOf(UndeclaredAccessError);
    expect((error as Error).message).toMatch(/read a "phoneClaim" record without declaring it: add 'phoneClaim' to table.read/);
    expect((error as Error).message).not.toContain('+15551234567');
    await expect(deps.store.getMany([keys.otp('u1', 'sms'), keys.user('u1')])).rejects.toThrow(/add 'otp' to table.read/);
  });

  it('gives the secrets and capabilities a route declares', async () => {
    const deps = restrictDeps(fakeDeps(), route({ capabilities: ['sign', 'hash-key', 'totp-key', 'email'] }));
    expect(deps.hashKey).toHaveLength(32);
    expect(deps.totpKeys.current).toBe('1');
    await expect(deps.signer.sign(new Uint8Array(1))).resolves.toHaveLength(64);
    await deps.mailer.sendEmail({ to: 'a@b.example', subject: 's', text: 't', html: 'h' });
  });
});

describe('the route table', () => {
  it('gives the public JWKS, discovery and OpenAPI routes no table, no secret and no signing', () => {
    for (const name of ['oidc-jwks', 'oidc-discovery', 'oidc-discovery-well-known', 'openapi']) {
      const needs = needsOf(routeNamed(name));
      expect(needs.read.size, name).toBe(0);
      expect(needs.write.size, name).toBe(0);
      for (const capability of ['sign', 'hash-key', 'totp-key', 'email', 'sms'] as const) expect(needs.capabilities.has(capability), `${name} ${capability}`).toBe(false);
    }
    expect(needsOf(routeNamed('oidc-jwks')).capabilities.has('public-keys')).toBe(true);
  });

  it('lets only the TOTP routes near the TOTP keys; of them only the one that issues tokens holds the hash key (refresh tokens)', () => {
    const holders = routes.filter((r) => needsOf(r).capabilities.has('totp-key')).map((r) => r.name);
    expect(holders.sort()).toEqual(['auth-totp-authenticate', 'auth-totp-register']);
    expect(needsOf(routeNamed('auth-totp-register')).capabilities.has('hash-key')).toBe(false);
    // A token response carries a refresh token keyed under the hash key (core/refresh-tokens.ts).
    for (const route of routes.filter((r) => ['TokenResponse', 'RefreshTokenResponse', 'RecoveryTokenResponse'].includes(r.success.schema ?? ''))) {
      expect(needsOf(route).capabilities.has('hash-key'), route.name).toBe(true);
    }
  });

  it('lets the read-only user lookups and the authenticators list write nothing', () => {
    for (const name of ['users-get', 'users-get-by-email', 'users-get-by-phone', 'users-get-by-username', 'users-authenticators-list']) {
      expect(needsOf(routeNamed(name)).write.size, name).toBe(0);
    }
  });
});

describe('restricted dependencies', () => {
  it('are built once per dependencies and route, so caches keyed on their ports (the token key set) hold across requests', () => {
    const deps = fakeDeps();
    const tokenRoute = routeNamed('users-get');
    // Compared by identity only: printing a view would read its guarded secrets.
    expect(restrictDeps(deps, tokenRoute) === restrictDeps(deps, tokenRoute)).toBe(true);
    expect(restrictDeps(deps, tokenRoute).signer === restrictDeps(deps, tokenRoute).signer).toBe(true);
    expect(restrictDeps(deps, routeNamed('users-get-by-email')) === restrictDeps(deps, tokenRoute)).toBe(false);
    expect(restrictDeps(fakeDeps(), tokenRoute) === restrictDeps(deps, tokenRoute)).toBe(false);
  });

  it('read the current dependencies at use, so a port swapped later is the one used', async () => {
    const deps = fakeDeps();
    const view = restrictDeps(deps, routeNamed('users-get'));
    const swapped = fakeDeps();
    deps.clock = { now: () => 42 };
    deps.store = swapped.store;
    expect(view.clock.now()).toBe(42);
    await swapped.store.put('user#u1', { user_id: 'u1' }, { expectVersion: null });
    expect((await view.store.get('user#u1'))?.value).toEqual({ user_id: 'u1' });
  });
});
