/**
 * The Store port's contract, run against every store backend we ship: the
 * DynamoDB adapter over the embedded dynalite (or DYNAMODB_ENDPOINT).
 */
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../functions/errors.js';
import type { Store } from '../../functions/ports.js';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { TTL_ATTRIBUTE, type DynamoDbStore } from '../../functions/adapters/aws/dynamodb-store.js';
import { createTestDeps } from '../support/harness.js';

export function describeStore(name: string, makeStore: () => Promise<Store>, ttlOf: (key: string) => Promise<number | undefined>): void {
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

    it('lists the keys of the records put with an owner, under that owner only, and keeps the owner through later puts', async () => {
      const store = await makeStore();
      await store.put('s1', { n: 1 }, { expectVersion: null, owner: 'alice' });
      await store.put('s2', { n: 1 }, { expectVersion: null, owner: 'alice' });
      await store.put('s3', { n: 1 }, { expectVersion: null, owner: 'bob' });
      await store.put('s4', { n: 1 }, { expectVersion: null });
      await store.put('s1', { n: 2 }, { expectVersion: 1 });
      expect((await store.keysOwnedBy('alice', 10)).sort()).toEqual(['s1', 's2']);
      expect(await store.keysOwnedBy('bob', 10)).toEqual(['s3']);
      expect(await store.keysOwnedBy('carol', 10)).toEqual([]);
      expect(await store.keysOwnedBy('alice', 1)).toHaveLength(1);
      await store.delete('s2');
      expect(await store.keysOwnedBy('alice', 10)).toEqual(['s1']);
    });

    it('returns undefined for a missing record and deletes conditionally', async () => {
      const store = await makeStore();
      expect(await store.get('missing')).toBeUndefined();
      await store.put('d', { x: true }, { expectVersion: null });
      await expect(store.delete('d', { expectVersion: 7 })).rejects.toBeInstanceOf(ConflictError);
      await store.delete('d', { expectVersion: 1 });
      expect(await store.get('d')).toBeUndefined();
    });

    describe('reading many keys at once', () => {
      it('returns each record found exactly as get does, its guesses and run included, and leaves out keys with no record', async () => {
        const store = await makeStore();
        await store.put('m1', { a: 1 }, { expectVersion: null });
        await store.put('m2', { b: { c: [1, 2] } }, { expectVersion: null, expiresAt: 2_000_000_000 });
        await store.put('m2', { b: { c: [3] } }, { expectVersion: 1 });
        await store.countGuess('m2', { limit: 5, run: { limit: 3, now: 10, startRun: 'r1' } });
        await store.increment('counter', 1); // a plain counter is no record: absent, as get says
        const read = await store.getMany(['m1', 'missing', 'm2', 'counter']);
        expect([...read.keys()].sort()).toEqual(['m1', 'm2']);
        expect(read.get('m1')).toEqual(await store.get('m1'));
        expect(read.get('m2')).toEqual(await store.get('m2'));
        expect(read.get('m2')).toEqual({ value: { b: { c: [3] } }, version: 2, guesses: 1, attempts: { run: 'r1', count: 1, last_at: 10 } });
      });

      it('reads what the last write left (strongly consistent), a key named twice once, and nothing for no keys', async () => {
        const store = await makeStore();
        await store.put('w', { n: 1 }, { expectVersion: null });
        await store.put('w', { n: 2 }, { expectVersion: 1 });
        const read = await store.getMany(['w', 'w']);
        expect(read.size).toBe(1);
        expect(read.get('w')).toEqual({ value: { n: 2 }, version: 2 });
        expect((await store.getMany([])).size).toBe(0);
      });
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

    it('adds only below a bound when given one, and then refuses with a ConflictError', async () => {
      const store = await makeStore();
      expect(await store.increment('b', 1, { expiresAt: 2_000_000_000, below: 2 })).toBe(1);
      expect(await store.increment('b', 1, { below: 2 })).toBe(2);
      await expect(store.increment('b', 1, { below: 2 })).rejects.toBeInstanceOf(ConflictError);
      expect(await store.increment('b', -1)).toBe(1);
      expect(await store.increment('b', 0)).toBe(1);
    });

    describe('guess counters', () => {
      const TTL = 2_000_000_000;
      const start = async (store: Store, key: string, last_at = 1000) => {
        const counter = { run: 'run-1', count: 1, last_at };
        expect(await store.restartAttempts(key, undefined, counter, TTL)).toBe(true);
        return counter;
      };

      it('counts nothing on a counter that does not exist, and creates none', async () => {
        const store = await makeStore();
        expect(await store.countAttempt('g', { limit: 5, now: 1000, expiresAt: TTL })).toBeUndefined();
        expect(await store.getAttempts('g')).toBeUndefined();
      });

      it('counts up to the limit and no further, recording the latest attempt', async () => {
        const store = await makeStore();
        await start(store, 'g');
        for (let n = 2; n <= 3; n++) expect(await store.countAttempt('g', { limit: 3, now: 1000 + n, expiresAt: TTL })).toEqual({ run: 'run-1', count: n, last_at: 1000 + n });
        expect(await store.countAttempt('g', { limit: 3, now: 2000, expiresAt: TTL })).toBeUndefined();
        expect(await store.getAttempts('g')).toEqual({ run: 'run-1', count: 3, last_at: 1003 });
      });

      it('of 200 concurrent attempts exactly the limit are counted, none lost and none failing', async () => {
        const store = await makeStore();
        await start(store, 'g');
        const results = await Promise.all(Array.from({ length: 200 }, () => store.countAttempt('g', { limit: 10, now: 1500, expiresAt: TTL })));
        const counted = results.filter((r) => r !== undefined);
        expect(counted.map((r) => r!.count).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect((await store.getAttempts('g'))?.count).toBe(10);
      });

      it('counts only while the latest attempt is later than lastAfter, judged from the stored time however old the TTL says it is', async () => {
        const store = await makeStore();
        await store.restartAttempts('g', undefined, { run: 'r', count: 1, last_at: 1000 }, 1); // TTL long past, still stored
        expect(await store.countAttempt('g', { limit: 5, lastAfter: 1000, now: 5000, expiresAt: TTL })).toBeUndefined();
        expect(await store.getAttempts('g')).toEqual({ run: 'r', count: 1, last_at: 1000 });
        expect(await store.countAttempt('g', { limit: 5, lastAfter: 999, now: 5000, expiresAt: TTL })).toEqual({ run: 'r', count: 2, last_at: 5000 });
      });

      it('restarts only from the state that was read; of concurrent restarts exactly one wins', async () => {
        const store = await makeStore();
        const seen = await start(store, 'g');
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.restartAttempts('g', seen, { run: `run-${i + 2}`, count: 1, last_at: 9000 }, TTL)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.restartAttempts('g', undefined, { run: 'late', count: 1, last_at: 9000 }, TTL)).toBe(false);
        expect(await store.restartAttempts('g', seen, { run: 'stale', count: 1, last_at: 9000 }, TTL)).toBe(false);
      });

      it('takes an attempt back only within the same run and never below zero', async () => {
        const store = await makeStore();
        await start(store, 'g');
        await store.countAttempt('g', { limit: 5, now: 1001, expiresAt: TTL });
        await store.uncountAttempt('g', 'another-run');
        expect((await store.getAttempts('g'))?.count).toBe(2);
        await Promise.all([store.uncountAttempt('g', 'run-1'), store.uncountAttempt('g', 'run-1'), store.uncountAttempt('g', 'run-1')]);
        expect((await store.getAttempts('g'))?.count).toBe(0);
        await store.uncountAttempt('missing', 'run-1');
        expect(await store.getAttempts('missing')).toBeUndefined();
      });

      it('a counter is deleted like any record', async () => {
        const store = await makeStore();
        await start(store, 'g');
        await store.delete('g');
        expect(await store.getAttempts('g')).toBeUndefined();
      });

      it('with startRun, the counting write itself starts a counter that does not exist, and only then', async () => {
        const store = await makeStore();
        expect(await store.countAttempt('g', { limit: 5, now: 1000, expiresAt: TTL, startRun: 'first' })).toEqual({ run: 'first', count: 1, last_at: 1000 });
        expect(await store.countAttempt('g', { limit: 5, now: 1001, expiresAt: TTL, startRun: 'second' })).toEqual({ run: 'first', count: 2, last_at: 1001 });
        await store.restartAttempts('lapsed', undefined, { run: 'old', count: 1, last_at: 1000 }, TTL);
        expect(await store.countAttempt('lapsed', { limit: 5, lastAfter: 2000, now: 5000, expiresAt: TTL, startRun: 'new' })).toBeUndefined();
        expect(await store.getAttempts('lapsed')).toEqual({ run: 'old', count: 1, last_at: 1000 });
      });

      it('of 200 concurrent first attempts with startRun exactly the limit are counted, on one run', async () => {
        const store = await makeStore();
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => store.countAttempt('g', { limit: 10, now: 1500, expiresAt: TTL, startRun: `run-${i}` })),
        );
        const counted = results.filter((r) => r !== undefined);
        expect(counted.map((r) => r!.count).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(new Set(counted.map((r) => r!.run)).size).toBe(1);
        expect((await store.getAttempts('g'))?.count).toBe(10);
      });
    });

    describe('overwrite', () => {
      it('writes whatever is stored, unread, and moves the version on so a put on the old version loses', async () => {
        const store = await makeStore();
        expect(await store.overwrite('o', { code: 1 }, { expiresAt: 2_000_000_000 })).toBe(1);
        expect(await store.overwrite('o', { code: 2 })).toBe(2);
        await expect(store.put('o', { code: 'stale' }, { expectVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.get('o')).toEqual({ value: { code: 2 }, version: 2 });
        expect(await store.put('o', { code: 3 }, { expectVersion: 2 })).toBe(3);
      });
    });

    describe('guesses at a record\'s secret', () => {
      const code = (expires: number, extra: Record<string, unknown> = {}) => ({ code: { client_id: 'c1', expires_at: expires, ...extra } });
      const where = (now: number) => ({ equal: { 'code.client_id': 'c1' }, absent: ['code.used_at'], above: { 'code.expires_at': now } });

      it('counts on the record with one write that returns it, leaves its version, and stops at the limit', async () => {
        const store = await makeStore();
        await store.put('r', code(5000), { expectVersion: null });
        expect(await store.countGuess('r', { limit: 2, where: where(1000) })).toEqual({ value: code(5000), version: 1, guesses: 1 });
        expect(await store.countGuess('r', { limit: 2, where: where(1000) })).toEqual({ value: code(5000), version: 1, guesses: 2 });
        expect(await store.countGuess('r', { limit: 2, where: where(1000) })).toBeUndefined();
        expect(await store.get('r')).toEqual({ value: code(5000), version: 1, guesses: 2 });
      });

      it('counts nothing on a missing record or one whose value fails a condition', async () => {
        const store = await makeStore();
        expect(await store.countGuess('missing', { limit: 5, where: where(1000) })).toBeUndefined();
        expect(await store.get('missing')).toBeUndefined();
        await store.put('expired', code(1000), { expectVersion: null });
        await store.put('used', code(5000, { used_at: 900 }), { expectVersion: null });
        await store.put('other', { code: { client_id: 'c2', expires_at: 5000 } }, { expectVersion: null });
        await store.put('none', {}, { expectVersion: null });
        for (const key of ['expired', 'used', 'other', 'none']) {
          expect(await store.countGuess(key, { limit: 5, where: where(1000) }), key).toBeUndefined();
          expect((await store.get(key))?.guesses, key).toBeUndefined();
        }
      });

      it('never lets more concurrent guesses through than the limit', async () => {
        const store = await makeStore();
        await store.put('r', code(5000), { expectVersion: null });
        const results = await Promise.all(Array.from({ length: 50 }, () => store.countGuess('r', { limit: 5, where: where(1000) })));
        expect(results.filter(Boolean).map((r) => r!.guesses).sort()).toEqual([1, 2, 3, 4, 5]);
      });

      it('a put keeps the guesses, an overwrite (a new secret) drops them; a give-back takes one only at the same version', async () => {
        const store = await makeStore();
        await store.put('r', code(5000), { expectVersion: null });
        await store.countGuess('r', { limit: 5, where: where(1000) });
        await store.countGuess('r', { limit: 5, where: where(1000) });
        expect(await store.put('r', code(6000), { expectVersion: 1 })).toBe(2);
        expect((await store.get('r'))?.guesses).toBe(2);
        await store.uncountGuess('r', 1);
        expect((await store.get('r'))?.guesses).toBe(2);
        await Promise.all([store.uncountGuess('r', 2), store.uncountGuess('r', 2), store.uncountGuess('r', 2)]);
        expect((await store.get('r'))?.guesses).toBeUndefined();
        await store.countGuess('r', { limit: 5, where: where(1000) });
        expect(await store.overwrite('r', code(7000))).toBe(3);
        expect(await store.get('r')).toEqual({ value: code(7000), version: 3 });
        await store.uncountGuess('missing', 1);
      });
    });

    describe('a run of attempts kept on a record', () => {
      const value = { code: { client_id: 'c1', expires_at: 5000 } };
      const where = { equal: { 'code.client_id': 'c1' } };
      const run = (now: number, extra: object = {}) => ({ limit: 2, lastAfter: now - 100, now, startRun: `run-${now}`, ...extra });

      it('the guess write starts the run, counts on it while it is live and below its limit, and counts nothing otherwise', async () => {
        const store = await makeStore();
        await store.put('r', value, { expectVersion: null });
        expect(await store.countGuess('r', { limit: 5, where, run: run(1000) })).toMatchObject({ version: 1, guesses: 1, attempts: { run: 'run-1000', count: 1, last_at: 1000 } });
        expect((await store.countGuess('r', { limit: 5, where, run: run(1050) }))?.attempts).toEqual({ run: 'run-1000', count: 2, last_at: 1050 });
        expect(await store.countGuess('r', { limit: 5, where, run: run(1060) })).toBeUndefined(); // the run's limit
        expect(await store.get('r')).toMatchObject({ guesses: 2, attempts: { count: 2 } });
        expect(await store.overwrite('r', value)).toBe(2); // a new secret: its guesses start afresh, the run stays
        expect(await store.countGuess('r', { limit: 5, where, run: run(1500) })).toBeUndefined(); // lapsed: 1050 is not after 1400
        expect(await store.get('r')).toEqual({ value, version: 2, attempts: { run: 'run-1000', count: 2, last_at: 1050 } });
      });

      it('restarts only from the run as seen, one of many concurrent restarts winning', async () => {
        const store = await makeStore();
        await store.put('r', value, { expectVersion: null });
        await store.countGuess('r', { limit: 5, where, run: run(1000) });
        const seen = (await store.get('r'))!.attempts;
        const results = await Promise.all(Array.from({ length: 5 }, (_, i) => store.countGuess('r', { limit: 5, where, run: { ...run(2000), startRun: `new-${i}`, restart: { seen } } })));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await store.get('r'))?.attempts).toMatchObject({ count: 1, last_at: 2000, run: expect.stringMatching(/^new-/) });
      });

      it('counts the run alone when no guess limit is given; ends it on request, leaving the record and its version', async () => {
        const store = await makeStore();
        await store.put('u', value, { expectVersion: null });
        expect(await store.countGuess('u', { run: run(1000) })).toEqual({ value, version: 1, attempts: { run: 'run-1000', count: 1, last_at: 1000 } });
        await store.uncountAttempt('u', 'another-run', { all: true });
        expect((await store.get('u'))?.attempts?.count).toBe(1);
        await store.uncountAttempt('u', 'run-1000', { all: true });
        expect(await store.get('u')).toEqual({ value, version: 1 });
        await store.countGuess('u', { run: run(2000) });
        expect(await store.put('u', value, { expectVersion: 1, endRun: true })).toBe(2);
        expect(await store.get('u')).toEqual({ value, version: 2 });
      });

      it('a put gives one attempt back with the same write, or ends a run holding only that one; a changed run makes it lose', async () => {
        const store = await makeStore();
        await store.put('r', value, { expectVersion: null });
        await store.countGuess('r', { limit: 5, where, run: { ...run(1000), limit: 5 } });
        await store.countGuess('r', { limit: 5, where, run: { ...run(1001), limit: 5 } });
        await expect(store.put('r', value, { expectVersion: 1, giveBack: { run: 'other', only: false } })).rejects.toBeInstanceOf(ConflictError);
        await expect(store.put('r', value, { expectVersion: 1, giveBack: { run: 'run-1000', only: true } })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.put('r', value, { expectVersion: 1, giveBack: { run: 'run-1000', only: false } })).toBe(2);
        expect(await store.get('r')).toEqual({ value, version: 2, guesses: 2, attempts: { run: 'run-1000', count: 1, last_at: 1001 } });
        expect(await store.put('r', value, { expectVersion: 2, giveBack: { run: 'run-1000', only: true } })).toBe(3);
        expect(await store.get('r')).toEqual({ value, version: 3, guesses: 2 });
      });
    });

    describe('counters given back', () => {
      it('a conditional decrement never takes a counter below zero, nor creates one', async () => {
        const store = await makeStore();
        await expect(store.increment('missing', -1, { above: 0 })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.increment('missing', 0)).toBe(0); // still nothing there
        expect(await store.increment('c', 1)).toBe(1);
        expect(await store.increment('c', -1, { above: 0 })).toBe(0);
        await expect(store.increment('c', -1, { above: 0 })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.increment('c', 0)).toBe(0);
      });

      it('of concurrent give-backs on one unit exactly one lands', async () => {
        const store = await makeStore();
        await store.increment('c', 1);
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => store.increment('c', -1, { above: 0 })));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(await store.increment('c', 0)).toBe(0);
      });
    });

    describe('a send log kept on a record', () => {
      const TTL = 2_000_000_000;
      const append = (now: number) => ({ now, lastAtOrBefore: now - 30, maxEntries: 3 });
      const code = (n: number) => ({ code: n });

      it('the overwrite that replaces the secret appends to the log, and a refused append writes nothing', async () => {
        const store = await makeStore();
        expect(await store.overwrite('o', code(1), { expiresAt: TTL, log: append(100) })).toBe(1);
        await expect(store.overwrite('o', code(2), { expiresAt: TTL, log: append(129) })).rejects.toBeInstanceOf(ConflictError); // within the cooldown
        expect(await store.get('o')).toEqual({ value: code(1), version: 1 }); // the previous secret stays
        expect(await store.overwrite('o', code(3), { log: append(130) })).toBe(2);
        expect(await store.overwrite('o', code(4), { log: append(160) })).toBe(3);
        await expect(store.overwrite('o', code(5), { log: append(1000) })).rejects.toBeInstanceOf(ConflictError); // full, however old
        expect(await store.getRecordSendLog('o')).toEqual({ times: [100, 130, 160], version: 3 });
        expect(await store.overwrite('o', code(6))).toBe(4); // no log: unconditional, the log stays
        expect(await store.getRecordSendLog('o')).toEqual({ times: [100, 130, 160], version: 3 });
      });

      it('replaces the log only from the log version read, an append in between making it lose', async () => {
        const store = await makeStore();
        await store.put('o', code(1), { expectVersion: null }); // a record written before it kept a log
        expect(await store.getRecordSendLog('o')).toEqual({ times: [], version: 0 });
        expect(await store.overwrite('o', code(2), { log: { now: 50, seen: 0, times: [] } })).toBe(2);
        await expect(store.overwrite('o', code(3), { log: { now: 60, seen: 0, times: [] } })).rejects.toBeInstanceOf(ConflictError);
        const seen = await store.getRecordSendLog('o');
        expect(seen).toEqual({ times: [50], version: 1 });
        await store.logSendOnRecord('o', append(100), TTL);
        await expect(store.overwrite('o', code(4), { log: { now: 200, seen: seen.version, times: [] } })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.overwrite('o', code(5), { log: { now: 300, seen: 2, times: [100] } })).toBe(3);
        expect(await store.getRecordSendLog('o')).toEqual({ times: [100, 300], version: 3 });
        await expect(store.logSendOnRecord('o', append(310), TTL)).rejects.toBeInstanceOf(ConflictError); // the replaced log's latest send is kept
      });

      it('a log-only write leaves the value, its version and its guesses alone; a missing record stays missing to reads and guesses', async () => {
        const store = await makeStore();
        await store.logSendOnRecord('none', append(100), TTL);
        expect(await store.get('none')).toBeUndefined();
        expect(await store.countGuess('none', { limit: 5 })).toBeUndefined();
        await store.put('o', { code: { client_id: 'c1' } }, { expectVersion: null });
        expect(await store.countGuess('o', { limit: 5 })).toMatchObject({ version: 1, guesses: 1 });
        await store.logSendOnRecord('o', append(100), TTL);
        expect(await store.get('o')).toEqual({ value: { code: { client_id: 'c1' } }, version: 1, guesses: 1 });
        expect(await store.put('o', { code: { client_id: 'c2' } }, { expectVersion: 1 })).toBe(2);
      });

      it('a log-only write moves the record\'s TTL to the one it is given, so the log outlives an old record', async () => {
        const store = await makeStore();
        await store.put('o', code(1), { expectVersion: null, expiresAt: 1000 }); // an old code's record, about to be deleted
        await store.logSendOnRecord('o', append(100), TTL);
        expect(await ttlOf('o')).toBe(TTL);
        await store.logSendOnRecord('fresh', append(100), TTL);
        expect(await ttlOf('fresh')).toBe(TTL);
      });

      it('of concurrent sends exactly one passes the cooldown', async () => {
        const store = await makeStore();
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? store.overwrite('o', code(i), { log: append(100) }) : store.logSendOnRecord('o', append(100), TTL))));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof ConflictError)).toBe(true);
      });
    });
  });
}

let current: DynamoDbStore;
describeStore(
  'DynamoDB adapter',
  async () => (current = (await createTestDeps()).store),
  async (key) => {
    const { Item } = await current.client.send(new GetItemCommand({ TableName: current.tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
    return Item?.[TTL_ATTRIBUTE]?.N === undefined ? undefined : Number(Item[TTL_ATTRIBUTE].N);
  },
);
