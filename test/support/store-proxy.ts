/**
 * A Store that runs `before(op, key)` ahead of every call, then the real
 * call: the one place tests wrap a store to trace, slow down or record calls,
 * so a new Store operation is added here once. A `getMany` runs `before` for
 * each of its keys, then makes its one call.
 */
import type { Store } from '../../functions/ports.js';

export type StoreOp = keyof Store;

export function proxyStore(store: Store, before: (op: StoreOp, key: string) => void | Promise<void>): Store {
  return {
    get: async (key) => (await before('get', key), store.get(key)),
    getMany: async (keys) => {
      for (const key of keys) await before('getMany', key);
      return store.getMany(keys);
    },
    keysOwnedBy: async (owner, limit) => (await before('keysOwnedBy', owner), store.keysOwnedBy(owner, limit)),
    put: async (key, value, options) => (await before('put', key), store.put(key, value, options)),
    countGuess: async (key, options) => (await before('countGuess', key), store.countGuess(key, options)),
    uncountGuess: async (key, version) => (await before('uncountGuess', key), store.uncountGuess(key, version)),
    delete: async (key, options) => (await before('delete', key), store.delete(key, options)),
    increment: async (key, by, options) => (await before('increment', key), store.increment(key, by, options)),
    countAttempt: async (key, options) => (await before('countAttempt', key), store.countAttempt(key, options)),
    getAttempts: async (key) => (await before('getAttempts', key), store.getAttempts(key)),
    restartAttempts: async (key, seen, next, expiresAt) => (await before('restartAttempts', key), store.restartAttempts(key, seen, next, expiresAt)),
    uncountAttempt: async (key, run, options) => (await before('uncountAttempt', key), store.uncountAttempt(key, run, options)),
    overwrite: async (key, value, options) => (await before('overwrite', key), store.overwrite(key, value, options)),
    logSendOnRecord: async (key, log, expiresAt) => (await before('logSendOnRecord', key), store.logSendOnRecord(key, log, expiresAt)),
    getRecordSendLog: async (key) => (await before('getRecordSendLog', key), store.getRecordSendLog(key)),
  };
}
