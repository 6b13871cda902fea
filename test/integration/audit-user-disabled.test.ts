/**
 * Disabling a user over PUT /cis/v1/users/{user_id} emits one
 * `user_disabled` audit event naming the client that did it; re-enabling
 * emits none.
 */
import { beforeEach, expect, it } from 'vitest';
import type { ClientRecord, UserRecord } from '../../functions/core/model.js';
import { handler as usersUpdate } from '../../functions/handlers/users-update.js';
import type { AuditEvent } from '../../functions/ports.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

let t: TestContext;
let client: ClientRecord;
let token: string;
let ada: UserRecord;
let events: AuditEvent[];

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  ada = await seedUser(t.deps, { email: 'ada@example.com' });
  events = [];
  t.deps.audit = { record: async (event) => void events.push(event) };
});

it('disabling a user emits one user_disabled event with the client that did it', async () => {
  expect((await invoke(usersUpdate, { token, params: { user_id: ada.user_id }, body: { status: 'Disabled' } })).status).toBe(200);
  expect(events).toEqual([
    { event: 'user_disabled', user_id: ada.user_id, client_id: client.client_id, method: null, ip: null, outcome: 'success', at: new Date(t.clock.now()).toISOString() },
  ]);
  events.length = 0;
  await invoke(usersUpdate, { token, params: { user_id: ada.user_id }, body: { status: 'Active' } });
  expect(events).toEqual([]);
});
