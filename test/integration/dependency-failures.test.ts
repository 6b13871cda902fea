/**
 * Contract section 1: a failing dependency answers 503 service_unavailable
 * with Retry-After, and nothing half-done is left behind (no session without
 * its tokens, no code consumed by a failed call).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbStore } from '../../functions/adapters/aws/dynamodb-store.js';
import { dynamoClientFor } from '../../functions/adapters/local/embedded-dynamodb.js';
import type { ClientRecord, UserRecord } from '../../functions/core/model.js';
import { ConflictError, DependencyError } from '../../functions/errors.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as usersCreate } from '../../functions/handlers/users-create.js';
import { handler as usersGet } from '../../functions/handlers/users-get.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import type { Signer, Store } from '../../functions/ports.js';
import { installDeps } from '../../functions/runtime.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

let t: TestContext;
let client: ClientRecord;
let token: string;
let user: UserRecord;
let kmsDown: boolean;
const writtenKeys: string[] = [];

/** The local signer, failing like KMS while `kmsDown` is set. */
function flakySigner(inner: Signer): Signer {
  return {
    currentKeyId: () => inner.currentKeyId(),
    publicKeys: () => inner.publicKeys(),
    sign: async (input) => {
      if (kmsDown) throw new DependencyError('kms');
      return inner.sign(input);
    },
  };
}

function recordingStore(inner: Store): Store {
  return {
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    keysOwnedBy: (owner, limit) => inner.keysOwnedBy(owner, limit),
    put: (key, value, options) => {
      writtenKeys.push(key);
      return inner.put(key, value, options);
    },
    delete: (key, options) => inner.delete(key, options),
    increment: (key, by, options) => inner.increment(key, by, options),
    countAttempt: (key, options) => {
      writtenKeys.push(key);
      return inner.countAttempt(key, options);
    },
    getAttempts: (key) => inner.getAttempts(key),
    restartAttempts: (key, seen, next, expiresAt) => {
      writtenKeys.push(key);
      return inner.restartAttempts(key, seen, next, expiresAt);
    },
    overwrite: (key, value, options) => {
      writtenKeys.push(key);
      return inner.overwrite(key, value, options);
    },
    logSendOnRecord: (key, log, expiresAt) => {
      writtenKeys.push(key);
      return inner.logSendOnRecord(key, log, expiresAt);
    },
    getRecordSendLog: (key) => inner.getRecordSendLog(key),
    // Guesses and attempts counted on a record are counter writes, not writes of its value.
    uncountAttempt: (key, run, options) => {
      writtenKeys.push(`guesses of ${key}`);
      return inner.uncountAttempt(key, run, options);
    },
    countGuess: (key, options) => {
      writtenKeys.push(`guesses of ${key}`);
      return inner.countGuess(key, options);
    },
    uncountGuess: (key, version) => {
      writtenKeys.push(`guesses of ${key}`);
      return inner.uncountGuess(key, version);
    },
  };
}

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  user = await seedUser(t.deps, { phone_number: '+15551234567', email: 'ada@example.com' });
  kmsDown = false;
  writtenKeys.length = 0;
  t.deps.signer = flakySigner(t.deps.signer);
  t.deps.store = recordingStore(t.deps.store);
});

describe('KMS down while signing', () => {
  it('OTP authenticate answers 503 with Retry-After, creates no session and does not burn the code', async () => {
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: user.phone_number } });
    const code = t.outbox.last(user.phone_number!)!.code!;
    const body = { passcode: code, identifier_type: 'phone_number', identifier: user.phone_number };

    kmsDown = true;
    writtenKeys.length = 0;
    const failed = await invoke(otpAuthenticate, { token, body });
    expect(failed.status).toBe(503);
    expect(failed.body).toEqual({ error_code: 'service_unavailable', message: expect.any(String) });
    expect(failed.headers['Retry-After']).toBe('1');
    expect(writtenKeys.filter((k) => k.startsWith('session#'))).toEqual([]);
    expect(writtenKeys.filter((k) => k.startsWith('otp#'))).toEqual([]);

    kmsDown = false;
    const retried = await invoke(otpAuthenticate, { token, body });
    expect(retried.status).toBe(200);
    expect(retried.body.session_id).toBeTruthy();
  });

  it('password authenticate answers 503 and creates no session', async () => {
    await invoke(usersCreate, { token, body: { email: 'grace@example.com', credentials: { password: 'correct horse battery staple' } } });
    kmsDown = true;
    writtenKeys.length = 0;
    const res = await invoke(passwordAuthenticate, { token, body: { username: 'grace@example.com', username_type: 'email', password: 'correct horse battery staple' } });
    expect(res.status).toBe(503);
    expect(writtenKeys.filter((k) => k.startsWith('session#'))).toEqual([]);
    kmsDown = false;
    const retried = await invoke(passwordAuthenticate, { token, body: { username: 'grace@example.com', username_type: 'email', password: 'correct horse battery staple' } });
    expect(retried.status).toBe(200);
  });
});

describe('write contention', () => {
  it('a session that keeps changing through every retry answers 503, not 500', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const store = t.deps.store;
    // Every conditional write to the session loses, as if others wrote it each time.
    t.deps.store = {
      get: (key) => store.get(key),
      getMany: (keys) => store.getMany(keys),
      keysOwnedBy: (owner, limit) => store.keysOwnedBy(owner, limit),
      put: async (key, value, options) => {
        if (key.startsWith('session#')) throw new ConflictError();
        return store.put(key, value, options);
      },
      delete: (key, options) => store.delete(key, options),
      increment: (key, by, options) => store.increment(key, by, options),
      countAttempt: (key, options) => store.countAttempt(key, options),
      getAttempts: (key) => store.getAttempts(key),
      restartAttempts: (key, seen, next, expiresAt) => store.restartAttempts(key, seen, next, expiresAt),
      uncountAttempt: (key, run, options) => store.uncountAttempt(key, run, options),
      countGuess: (key, options) => store.countGuess(key, options),
      uncountGuess: (key, version) => store.uncountGuess(key, version),
      overwrite: (key, value, options) => store.overwrite(key, value, options),
      logSendOnRecord: (key, log, expiresAt) => store.logSendOnRecord(key, log, expiresAt),
      getRecordSendLog: (key) => store.getRecordSendLog(key),
    };
    const res = await invoke(sessionAuthenticate, { token, body: { session_id: first.session_id } });
    expect(res.status).toBe(503);
    expect(res.body.error_code).toBe('service_unavailable');
    expect(res.headers['Retry-After']).toBe('1');
  });
});

describe('DynamoDB unreachable', () => {
  it('answers 503 service_unavailable with Retry-After, never a 500', async () => {
    // Verify the client token with the working deps, then swap in a store that cannot connect.
    const unreachable = new DynamoDbStore(dynamoClientFor('http://127.0.0.1:9'), 'nowhere');
    const clientRecordStore: Store = {
      get: (key) => (key.startsWith('client#') ? t.deps.store.get(key) : unreachable.get(key)),
      getMany: (keys) => unreachable.getMany(keys),
      keysOwnedBy: (owner, limit) => unreachable.keysOwnedBy(owner, limit),
      put: (key, value, options) => unreachable.put(key, value, options),
      delete: (key, options) => unreachable.delete(key, options),
      increment: (key, by, options) => unreachable.increment(key, by, options),
      countAttempt: (key, options) => unreachable.countAttempt(key, options),
      getAttempts: (key) => unreachable.getAttempts(key),
      restartAttempts: (key, seen, next, expiresAt) => unreachable.restartAttempts(key, seen, next, expiresAt),
      uncountAttempt: (key, run, options) => unreachable.uncountAttempt(key, run, options),
      countGuess: (key, options) => unreachable.countGuess(key, options),
      uncountGuess: (key, version) => unreachable.uncountGuess(key, version),
      overwrite: (key, value, options) => unreachable.overwrite(key, value, options),
      logSendOnRecord: (key, log, expiresAt) => unreachable.logSendOnRecord(key, log, expiresAt),
      getRecordSendLog: (key) => unreachable.getRecordSendLog(key),
    };
    installDeps({ ...t.deps, store: clientRecordStore });
    const res = await invoke(usersGet, { token, params: { user_id: user.user_id } });
    expect(res.status).toBe(503);
    expect(res.body.error_code).toBe('service_unavailable');
    expect(res.headers['Retry-After']).toBe('1');
    const logged = t.logLines.map((l) => JSON.parse(l) as { msg: string; dependency?: string }).find((l) => l.msg === 'dependency failure');
    expect(logged?.dependency).toBe('dynamodb');
  });
});
