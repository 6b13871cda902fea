/**
 * The Store port's contract, run against every store backend we ship: the
 * DynamoDB adapter over the embedded dynalite (or DYNAMODB_ENDPOINT).
 */
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../functions/errors.js';
import type { Store } from '../../functions/ports.js';
import { createTestDeps } from '../support/harness.js';

export function describeStore(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    it('creates a record only when it does not exist yet', async () => {
      const store = await makeStore();
      expect(await store.put('k', { a: 1 }, { expectVersion: null })).toBe(1);
      await expect(store.put('k', { a: 2 }, { expectVersion: null })).rejects.toBeInstanceOf(ConflictError);
      expect(await store.get('k')).toEqual({ value: { a: 1 }, version: 1 });
    });

    it('updates only from the version that was read', async () => {
      const store = await makeStore();
      await store.put('k', { n: 1 }, { expectVersion: null });
      expect(await store.put('k', { n: 2 }, { expectVersion: 1 })).toBe(2);
      await expect(store.put('k', { n: 3 }, { expectVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
      expect((await store.get<{ n: number }>('k'))?.value.n).toBe(2);
    });

    it('lets exactly one of many concurrent writers of one version win', async () => {
      const store = await makeStore();
      await store.put('race', { winner: 'none' }, { expectVersion: null });
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => store.put('race', { winner: i }, { expectVersion: 1 })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
    });

    it('returns undefined for a missing record and deletes conditionally', async () => {
      const store = await makeStore();
      expect(await store.get('missing')).toBeUndefined();
      await store.put('d', { x: true }, { expectVersion: null });
      await expect(store.delete('d', { expectVersion: 7 })).rejects.toBeInstanceOf(ConflictError);
      await store.delete('d', { expectVersion: 1 });
      expect(await store.get('d')).toBeUndefined();
    });

    it('keeps nested values, drops undefined fields', async () => {
      const store = await makeStore();
      const value = { list: [{ method: 'pwd', at: 1 }], nested: { deep: 'x' }, flag: false, gone: undefined };
      await store.put('n', value, { expectVersion: null, expiresAt: 2_000_000_000 });
      expect((await store.get('n'))?.value).toEqual({ list: [{ method: 'pwd', at: 1 }], nested: { deep: 'x' }, flag: false });
    });

    it('counts atomically under concurrency', async () => {
      const store = await makeStore();
      const totals = await Promise.all(Array.from({ length: 10 }, () => store.increment('c', 1, { expiresAt: 2_000_000_000 })));
      expect([...totals].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });
  });
}

describeStore('DynamoDB adapter', async () => (await createTestDeps()).store);
