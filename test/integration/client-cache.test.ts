/**
 * The client record behind a client or user token is cached per function
 * instance for at most CLIENT_CACHE_MS: the documented bound on how long a
 * client's settings change or deletion, written by another process, takes to
 * apply. The writing process itself applies it at once.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { authenticateClientToken, CLIENT_CACHE_MS, updateClient } from '../../functions/core/clients.js';
import { keys, type ClientRecord } from '../../functions/core/model.js';
import { UnauthorizedError } from '../../functions/errors.js';
import type { Store } from '../../functions/ports.js';
import { createTestClient, createTestDeps, type TestContext } from '../support/harness.js';
import { proxyStore } from '../support/store-proxy.js';

let ctx: TestContext;
let client: ClientRecord;
let token: string;

beforeEach(async () => {
  ctx = await createTestDeps();
  ({ client, token } = await createTestClient(ctx.deps));
});

/** Writes the client record as another process (the admin command elsewhere) would: not through updateClient here. */
async function writeElsewhere(change: Partial<ClientRecord>): Promise<void> {
  const stored = (await ctx.store.get<ClientRecord>(keys.client(client.client_id)))!;
  await ctx.store.put(keys.client(client.client_id), { ...stored.value, ...change }, { expectVersion: stored.version });
}

describe('the client record cache', () => {
  it('reads the client record once per CLIENT_CACHE_MS, not on every request', async () => {
    const reads: string[] = [];
    const store: Store = proxyStore(ctx.store, (op, key) => void (op === 'get' && reads.push(key.split('#')[0]!)));
    const deps = { ...ctx.deps, store };
    for (let i = 0; i < 3; i++) await authenticateClientToken(deps, token);
    expect(reads).toEqual(['client']);
    ctx.clock.advance(CLIENT_CACHE_MS);
    await authenticateClientToken(deps, token);
    expect(reads).toEqual(['client', 'client']);
  });

  it('applies a settings change written by another process within CLIENT_CACHE_MS', async () => {
    expect((await authenticateClientToken(ctx.deps, token)).reveal_unknown_users).toBe(false);
    await writeElsewhere({ reveal_unknown_users: true });
    ctx.clock.advance(CLIENT_CACHE_MS - 1);
    expect((await authenticateClientToken(ctx.deps, token)).reveal_unknown_users).toBe(false);
    ctx.clock.advance(1);
    expect((await authenticateClientToken(ctx.deps, token)).reveal_unknown_users).toBe(true);
  });

  it('refuses the tokens of a client deleted by another process within CLIENT_CACHE_MS', async () => {
    await authenticateClientToken(ctx.deps, token);
    await ctx.store.delete(keys.client(client.client_id));
    ctx.clock.advance(CLIENT_CACHE_MS - 1);
    await authenticateClientToken(ctx.deps, token);
    ctx.clock.advance(1);
    await expect(authenticateClientToken(ctx.deps, token)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('applies a change made through updateClient in this process at once', async () => {
    await authenticateClientToken(ctx.deps, token);
    await updateClient(ctx.store, client.client_id, { reveal_unknown_users: true });
    expect((await authenticateClientToken(ctx.deps, token)).reveal_unknown_users).toBe(true);
  });

  it('reads afresh when the clock went back', async () => {
    await authenticateClientToken(ctx.deps, token);
    await writeElsewhere({ reveal_unknown_users: true });
    ctx.clock.advance(-1);
    expect((await authenticateClientToken(ctx.deps, token)).reveal_unknown_users).toBe(true);
  });
});
