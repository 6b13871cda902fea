/**
 * Adversarial input for every route of the route table: random JSON bodies,
 * raw bytes and path parameters never produce a 5xx, and every error carries
 * the contract's body. Bodies that do not fit the schema are 400
 * system_invalid_input.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/routes.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';

type Handler = Parameters<typeof invoke>[0];

let t: TestContext;
let token: string;
const handlers = new Map<string, Handler>();

beforeAll(async () => {
  t = await createTestDeps();
  ({ token } = await createTestClient(t.deps, { allow_direct_delivery: true }));
  for (const route of routes) {
    const module = (await import(`../../functions/handlers/${route.name}.ts`)) as { handler: Handler };
    handlers.set(route.name, module.handler);
  }
});

function expectContractAnswer(route: string, res: { status: number; body: unknown }): void {
  expect(res.status, route).toBeLessThan(500);
  if (res.status >= 400) {
    const body = res.body as Record<string, unknown>;
    const oauth = route === 'oidc-token' && typeof body.error === 'string';
    expect(oauth || (typeof body.error_code === 'string' && typeof body.message === 'string'), `${route}: ${JSON.stringify(body)}`).toBe(true);
  }
}

const params = { user_id: 'u', username: 'ada', email: 'ada@example.com', phone_number: '+15551234567' };

describe('random input never yields a 5xx', () => {
  for (const route of routes.filter((r) => r.body)) {
    it(`${route.method} ${route.path}: random JSON bodies`, async () => {
      const handler = () => handlers.get(route.name)!;
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (body) => {
          const res = await invoke(handler(), { token, body, params });
          expectContractAnswer(route.name, res);
          if (body === null || typeof body !== 'object' || Array.isArray(body)) expect(res.body.error_code ?? res.body.error).toBeDefined();
        }),
        { numRuns: 40 },
      );
    });

    it(`${route.method} ${route.path}: raw bytes`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 200 }), async (rawBody) => {
          expectContractAnswer(route.name, await invoke(handlers.get(route.name)!, { token, rawBody, params }));
        }),
        { numRuns: 20 },
      );
    });
  }

  for (const route of routes.filter((r) => r.params)) {
    it(`${route.method} ${route.path}: random path parameters`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 300 }), async (value) => {
          const res = await invoke(handlers.get(route.name)!, {
            token,
            params: Object.fromEntries(Object.keys(params).map((k) => [k, value])),
            body: { password: 'x', email: 'a@b.co', phone_number: '+15551234567', passcode: '123456' },
          });
          expectContractAnswer(route.name, res);
        }),
        { numRuns: 30 },
      );
    });
  }

  it('fields that fit the schema but name nothing give contract errors, not 5xx', async () => {
    const samples: Array<[string, unknown]> = [
      ['auth-otp-send', { channel: 'direct', identifier_type: 'username', identifier: 'nobody' }],
      ['auth-otp-send', { channel: 'sms', identifier_type: 'phone_number', identifier: 'not-a-phone' }],
      ['auth-otp-authenticate', { passcode: '000000', identifier_type: 'user_id', identifier: '../../etc' }],
      ['auth-password', { username: '+1', username_type: 'phone_number', password: 'x' }],
      ['auth-link-send', { identifier: 'a@b.co', redirect_uri: 'javascript:alert(1)' }],
      ['auth-link-authenticate', { code: '%00' }],
      ['auth-token-refresh', { refresh_token: '.'.repeat(500) }],
      ['auth-totp-authenticate', { identifier_type: 'email', identifier: 'nobody@example.com', token: 'abcdef' }],
      ['users-create', { email: 'a@b.co', credentials: { password: '\u0000'.repeat(300) } }],
      ['auth-recovery-codes-authenticate', { identifier_type: 'user_id', identifier: '../../etc', code: '\u0000-\u200b-ＡＢＣＤ' }],
    ];
    for (const [name, body] of samples) {
      const res = await invoke(handlers.get(name)!, { token, body, params });
      expectContractAnswer(name, res);
      expect(res.status, name).toBeGreaterThanOrEqual(400);
    }
  });
});
