/**
 * The admin command, run as a user would (`tsx bin/client.ts`), against the
 * embedded DynamoDB through DYNAMODB_ENDPOINT.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { DynamoDbStore, ensureTable } from '../../functions/adapters/aws/dynamodb-store.js';
import { dynamoClientFor } from '../../functions/adapters/local/embedded-dynamodb.js';
import { exchangeClientCredentials } from '../../functions/core/clients.js';
import { keys, type ClientRecord } from '../../functions/core/model.js';
import { createTestDeps } from '../support/harness.js';

const run = promisify(execFile);

async function client(table: string, ...args: string[]) {
  return run('npx', ['tsx', 'bin/client.ts', ...args, '--table', table], {
    env: { ...process.env, DYNAMODB_ENDPOINT: inject('dynamoEndpoint') },
  });
}

describe('npm run client', () => {
  it('creates a client, prints its secret once and stores only its hash', async () => {
    const table = `cli-${randomUUID()}`;
    const dynamo = dynamoClientFor(inject('dynamoEndpoint'));
    await ensureTable(dynamo, table);
    const { stdout } = await client(table, 'create', '--name', 'shop', '--redirect-uri', 'https://shop.example/cb', '--client-id', 'shop', '--mfa-policy', 'distinct_methods', '--ip-binding', 'off');
    const secret = /client_secret: (\S+)/.exec(stdout)?.[1];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const store = new DynamoDbStore(dynamo, table);
    const stored = await store.get<ClientRecord>(keys.client('shop'));
    expect(stored?.value).toMatchObject({ name: 'shop', redirect_uris: ['https://shop.example/cb'], mfa_policy: 'distinct_methods', bind_sessions_to_ip: false, reveal_unknown_users: false });
    expect(JSON.stringify(stored)).not.toContain(secret);

    // The printed secret works at the token endpoint's core.
    const { deps } = await createTestDeps({ store });
    const token = await exchangeClientCredentials(deps, 'shop', secret!);
    expect(token.token_type).toBe('Bearer');

    expect(stored?.value).toMatchObject({ refresh_reuse_grace_seconds: 0, enrolment_max_age_seconds: 900 });
    expect(stored?.value).not.toHaveProperty('send_response_floor_ms'); // sends are no longer padded
    const updated = await client(table, 'update', 'shop', '--direct-delivery', 'on', '--idle-timeout', '600', '--refresh-reuse-grace', '10', '--enrolment-max-age', '300');
    expect(updated.stdout).toContain('"allow_direct_delivery": true');
    expect((await store.get<ClientRecord>(keys.client('shop')))?.value).toMatchObject({
      allow_direct_delivery: true,
      session_idle_timeout_seconds: 600,
      mfa_policy: 'distinct_methods',
      refresh_reuse_grace_seconds: 10,
      enrolment_max_age_seconds: 300,
    });

    const shown = await client(table, 'show', 'shop');
    expect(shown.stdout).not.toContain('secret_hash');
    dynamo.destroy();
  });

  it('explains bad flags with exit code 2', async () => {
    await expect(client(`cli-${randomUUID()}`, 'create', '--name', 'x', '--mfa-policy', 'sometimes')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--mfa-policy takes factor_classes or distinct_methods'),
    });
  });

  it('sets the passkey settings, and refuses an origin that is not on the RP ID', async () => {
    const table = `cli-${randomUUID()}`;
    const dynamo = dynamoClientFor(inject('dynamoEndpoint'));
    await ensureTable(dynamo, table);
    await client(table, 'create', '--name', 'shop', '--client-id', 'shop', '--webauthn-rp-id', 'shop.example', '--webauthn-origin', 'https://shop.example', '--webauthn-origin', 'https://www.shop.example', '--webauthn-user-verification', 'preferred');
    const store = new DynamoDbStore(dynamo, table);
    expect((await store.get<ClientRecord>(keys.client('shop')))?.value).toMatchObject({
      webauthn_rp_id: 'shop.example',
      webauthn_origins: ['https://shop.example', 'https://www.shop.example'],
      webauthn_user_verification: 'preferred',
    });
    await expect(client(table, 'update', 'shop', '--webauthn-origin', 'https://evil.example')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('origin https://evil.example is not on the RP ID shop.example'),
    });
    dynamo.destroy();
  });

  it('limits SMS to a list of countries and a budget of its own, and puts the list back to every country with all', async () => {
    const table = `cli-${randomUUID()}`;
    const dynamo = dynamoClientFor(inject('dynamoEndpoint'));
    await ensureTable(dynamo, table);
    const store = new DynamoDbStore(dynamo, table);
    await client(table, 'create', '--name', 'shop', '--client-id', 'shop');
    expect((await store.get<ClientRecord>(keys.client('shop')))?.value).toMatchObject({ sms_budget_per_hour: 1000, send_budget_per_hour: 1000 });
    expect((await store.get<ClientRecord>(keys.client('shop')))?.value.sms_countries).toBeUndefined();

    await client(table, 'update', 'shop', '--sms-countries', 'us, ca,US', '--sms-budget', '50');
    expect((await store.get<ClientRecord>(keys.client('shop')))?.value).toMatchObject({ sms_countries: ['US', 'CA'], sms_budget_per_hour: 50, send_budget_per_hour: 1000 });
    await expect(client(table, 'update', 'shop', '--sms-countries', 'US,XX')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown: XX') });

    await client(table, 'update', 'shop', '--sms-countries', 'all');
    const reset = (await store.get<ClientRecord>(keys.client('shop')))?.value;
    expect(reset?.sms_countries).toBeUndefined();
    expect(reset?.sms_budget_per_hour).toBe(50);
    dynamo.destroy();
  });

  it('refuses a refresh reuse grace over 60 seconds', async () => {
    await expect(client(`cli-${randomUUID()}`, 'create', '--name', 'x', '--refresh-reuse-grace', '3600')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--refresh-reuse-grace takes a whole number from 0 to 60'),
    });
  });

  it('refuses an enrolment window under a minute or over a day', async () => {
    for (const seconds of ['59', '86401', '15m']) {
      await expect(client(`cli-${randomUUID()}`, 'create', '--name', 'x', '--enrolment-max-age', seconds)).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringContaining('--enrolment-max-age takes a whole number from 60 to 86400'),
      });
    }
  });
});
