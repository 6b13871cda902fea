import { beforeEach, describe, expect, it } from 'vitest';
import { keyedHash } from '../../functions/core/crypto.js';
import { openDelivery } from '../../functions/core/delivery.js';
import type { MagicLinkRecord } from '../../functions/core/magic-links.js';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import { issueClientToken } from '../../functions/core/tokens.js';
import { DependencyError } from '../../functions/errors.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import type { EmailMessage } from '../../functions/ports.js';
import { createTestClient, createTestDeps, idTokenClaims, invoke, slowSigning, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

const REDIRECT = 'https://app.example/callback';

let t: TestContext;
let client: ClientRecord;
let token: string;
let ada: UserRecord;


async function send(body: Record<string, unknown>, as = token) {
  return invoke(linkSend, { token: as, body: { identifier_type: 'email', identifier: 'ada@example.com', redirect_uri: REDIRECT, ...body } });
}

async function authenticateCode(code: string, extra: Record<string, unknown> = {}, as = token) {
  return invoke(linkAuthenticate, { token: as, body: { code, ...extra } });
}

/** Sends a link to Ada and returns the code from the mail. */
async function sendAndReadCode(body: Record<string, unknown> = {}): Promise<string> {
  const res = await send(body);
  expect(res.status).toBe(200);
  return codeOf(t.outbox.last('ada@example.com')!.link!);
}

function codeOf(link: string): string {
  return new URL(link).searchParams.get('code')!;
}

const verifyIdToken = (idToken: string) => idTokenClaims(t.deps, idToken, client.client_id);


beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps, { redirect_uris: [REDIRECT, 'https://app.example/cb?tenant=acme&x=a%20b'] }));
  ada = await seedUser(t.deps, { user_id: 'u-ada', email: 'ada@example.com', username: 'ada' });
});

describe('sending a magic link', () => {
  it('emails a link to redirect_uri with code and state, and stores the code only hashed', async () => {
    const res = await send({ state: 'xyz 1/2&3' });
    expect(res).toMatchObject({ status: 200, body: { message: 'Email sent successfully' } });
    expect(res.body.link).toBeUndefined();

    const mail = t.outbox.last('ada@example.com')!;
    const link = new URL(mail.link!);
    expect(`${link.origin}${link.pathname}`).toBe(REDIRECT);
    expect([...link.searchParams.keys()]).toEqual(['code', 'state']);
    expect(link.searchParams.get('state')).toBe('xyz 1/2&3');
    const code = link.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes = 256 bits
    expect(mail.text).toContain(mail.link);
    expect(mail.html).toContain(mail.link!.replace(/&/g, '&amp;'));

    const stored = await t.store.get<MagicLinkRecord>(keys.magicLink(keyedHash(t.deps.hashKey, code)));
    expect(stored?.value).toMatchObject({ client_id: client.client_id, user_id: ada.user_id, email: 'ada@example.com' });
    expect(JSON.stringify(stored)).not.toContain(code);
    expect(await t.store.get(keys.magicLink(code))).toBeUndefined();
  });

  it('keeps the query string of a registered redirect URI and appends code and state', async () => {
    const res = await send({ redirect_uri: 'https://app.example/cb?tenant=acme&x=a%20b', state: 's1' });
    expect(res.status).toBe(200);
    const link = t.outbox.last('ada@example.com')!.link!;
    expect(link.startsWith('https://app.example/cb?tenant=acme&x=a%20b&code=')).toBe(true);
    const params = new URL(link).searchParams;
    expect(params.get('tenant')).toBe('acme');
    expect(params.get('x')).toBe('a b');
    expect(params.get('state')).toBe('s1');
    expect(params.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each([
    ['a longer path', 'https://app.example/callback/extra'],
    ['a prefix', 'https://app.example/call'],
    ['a trailing slash', 'https://app.example/callback/'],
    ['an added query', 'https://app.example/callback?next=/admin'],
    ['a different query', 'https://app.example/cb?tenant=evil'],
    ['another host', 'https://evil.example/callback'],
    ['another scheme', 'http://app.example/callback'],
    ['a different case', 'https://APP.example/callback'],
  ])('refuses a redirect_uri that is %s of an allowed one', async (_, redirectUri) => {
    const res = await send({ redirect_uri: redirectUri });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('invalid_redirect_uri');
    expect(t.outbox.list()).toHaveLength(0);
  });

  it('checks redirect_uri before looking up the user', async () => {
    const revealing = await createTestClient(t.deps, { redirect_uris: [REDIRECT], reveal_unknown_users: true });
    const res = await invoke(linkSend, {
      token: revealing.token,
      body: { identifier_type: 'email', identifier: 'nobody@example.com', redirect_uri: 'https://evil.example/' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('invalid_redirect_uri');
  });

  it('escapes email_content into the HTML and keeps it plain in the text', async () => {
    const res = await send({ email_content: { headerText: '<script>alert(1)</script>', bodyText: 'Tom & "Jerry"', linkText: '<b>Go</b>' } });
    expect(res.status).toBe(200);
    const mail = t.outbox.last('ada@example.com')!;
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<b>Go</b>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.html).toContain('Tom &amp; &quot;Jerry&quot;');
    expect(mail.html).toContain('&lt;b&gt;Go&lt;/b&gt;');
    expect(mail.text).toContain('<script>alert(1)</script>');
  });

  it('accepts the legacy email field and other identifier types', async () => {
    const legacy = await invoke(linkSend, { token, body: { email: 'ADA@example.com ', redirect_uri: REDIRECT } });
    expect(legacy.status).toBe(200);
    expect(t.outbox.list('ada@example.com')).toHaveLength(1);
    t.clock.advanceSeconds(31);
    const byUsername = await send({ identifier_type: 'username', identifier: 'ada' });
    expect(byUsername.status).toBe(200);
    t.clock.advanceSeconds(31);
    const byId = await send({ identifier_type: 'user_id', identifier: ada.user_id });
    expect(byId.status).toBe(200);
    expect(t.outbox.list('ada@example.com')).toHaveLength(3);
  });

  it('refuses an email_expiration over 60 minutes and a missing identifier as invalid input', async () => {
    expect((await send({ email_expiration: 61 })).body.error_code).toBe('system_invalid_input');
    const res = await invoke(linkSend, { token, body: { redirect_uri: REDIRECT } });
    expect(res).toMatchObject({ status: 400, body: { error_code: 'system_invalid_input' } });
    expect(t.outbox.list()).toHaveLength(0);
  });

  it('answers for an unknown user exactly as for a known one, and sends nothing: its link record is a decoy for nobody', async () => {
    const written: string[] = [];
    const put = t.deps.store.put.bind(t.deps.store);
    t.deps.store.put = (key, value, options) => {
      written.push(key);
      return put(key, value, options);
    };
    const known = await send({});
    const unknown = await send({ identifier: 'nobody@example.com' });
    expect(unknown.status).toBe(known.status);
    expect(unknown.body).toEqual(known.body);
    expect(t.outbox.list('nobody@example.com')).toHaveLength(0);
    expect(t.outbox.list()).toHaveLength(1); // Ada's only
    // One link record each (the same write), the unknown one naming nobody, so no code could ever open it.
    const links = written.filter((k) => k.startsWith('link#'));
    expect(links).toHaveLength(2);
    const decoy = (await t.deps.store.get<MagicLinkRecord>(links[1]!))!.value;
    expect(decoy).toMatchObject({ user_id: '', email: '' });
    expect(t.queue.outcomes).toEqual(['delivered', 'decoy']);
  });

  it('answers 404 user_not_found for an unknown user when the client reveals unknown users', async () => {
    const revealing = await createTestClient(t.deps, { redirect_uris: [REDIRECT], reveal_unknown_users: true });
    const res = await send({ identifier: 'nobody@example.com' }, revealing.token);
    expect(res).toMatchObject({ status: 404, body: { error_code: 'user_not_found' } });
  });

  it('limits sends to one per 30 seconds per address: 429 with Retry-After, nothing sent', async () => {
    expect((await send({})).status).toBe(200);
    t.clock.advanceSeconds(10);
    const res = await send({});
    expect(res.status).toBe(429);
    expect(res.body.error_code).toBe('rate_limited');
    expect(Number(res.headers['Retry-After'])).toBe(20);
    expect(t.outbox.list('ada@example.com')).toHaveLength(1);
  });

  it('unknown users are rate limited like known ones, so a 429 reveals nothing', async () => {
    expect((await send({ identifier: 'nobody@example.com' })).status).toBe(200);
    expect((await send({ identifier: 'nobody@example.com' })).status).toBe(429);
  });

  it('a failed enqueue answers 503 with Retry-After and sends nothing', async () => {
    t.queue.failing = true;
    const res = await send({});
    expect(res).toMatchObject({ status: 503, body: { error_code: 'service_unavailable' } });
    expect(res.headers['Retry-After']).toBeDefined();
    expect(t.outbox.list()).toHaveLength(0);
  });

  it('the link of a failed enqueue does not work', async () => {
    const attempted: string[] = [];
    t.deps.queue = {
      enqueue: async (body) => {
        attempted.push(body);
        throw new DependencyError('sqs');
      },
    };
    expect((await send({})).status).toBe(503);
    expect(attempted).toHaveLength(1);
    const delivery = openDelivery(t.deps, attempted[0]!);
    const res = await authenticateCode(codeOf((delivery.message as EmailMessage).link!));
    expect(res).toMatchObject({ status: 400, body: { error_code: 'invalid_magic_link_code' } });
  });

  it('a provider failure still answers 200: the delivery is retried and arrives, and its link works', async () => {
    t.outbox.failing = true;
    expect((await send({})).status).toBe(200);
    expect(t.outbox.list()).toHaveLength(0);
    t.outbox.failing = false;
    t.clock.advanceSeconds(5);
    expect(await t.queue.redeliverDue()).toBe(1);
    const res = await authenticateCode(codeOf(t.outbox.last('ada@example.com')!.link!));
    expect(res.status).toBe(200);
  });
});

describe('direct delivery', () => {
  it('returns the link instead of mailing it when the client allows it', async () => {
    const direct = await createTestClient(t.deps, { redirect_uris: [REDIRECT], allow_direct_delivery: true });
    const res = await send({ channel: 'direct', state: 'st' }, direct.token);
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('Email sent successfully');
    expect(new URL(res.body.link).searchParams.get('state')).toBe('st');
    expect(t.outbox.list()).toHaveLength(0);
    const auth = await authenticateCode(codeOf(res.body.link), {}, direct.token);
    expect(auth.status).toBe(200);
  });

  it('is 403 forbidden for a client that does not allow it', async () => {
    const res = await send({ channel: 'direct' });
    expect(res).toMatchObject({ status: 403, body: { error_code: 'forbidden' } });
    expect(res.body.link).toBeUndefined();
  });
});

describe('authenticating with a magic link', () => {
  it('answers the token response with amr eml and marks the email verified', async () => {
    expect(ada.email_verified).toBe(false);
    const code = await sendAndReadCode();
    const res = await authenticateCode(code);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(res.body.session_id).toBeTruthy();
    expect(res.body.refresh_token).toBeTruthy();
    const payload = await verifyIdToken(res.body.id_token);
    expect(payload).toMatchObject({ sub: ada.user_id, amr: ['eml'], email: 'ada@example.com', email_verified: true, sid: res.body.session_id });

    const stored = await t.store.get<UserRecord>(keys.user(ada.user_id));
    expect(stored!.value.email_verified).toBe(true);
    expect(stored!.value.email_verified_at).toBe(t.clock.now());
  });

  it('a code works once', async () => {
    const code = await sendAndReadCode();
    expect((await authenticateCode(code)).status).toBe(200);
    const again = await authenticateCode(code);
    expect(again).toMatchObject({ status: 400, body: { error_code: 'invalid_magic_link_code' } });
  });

  it('of two concurrent uses of one code exactly one wins', async () => {
    const code = await sendAndReadCode();
    slowSigning(t.deps);
    const results = await Promise.all([authenticateCode(code), authenticateCode(code), authenticateCode(code)]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect(r.body.error_code).toBe('invalid_magic_link_code');
  });

  it('an unknown code is invalid_magic_link_code', async () => {
    const res = await authenticateCode('A'.repeat(43));
    expect(res).toMatchObject({ status: 400, body: { error_code: 'invalid_magic_link_code' } });
  });

  it("another client's code is invalid_magic_link_code and stays usable by its own client", async () => {
    const code = await sendAndReadCode();
    const other = await createTestClient(t.deps, { redirect_uris: [REDIRECT] });
    expect((await authenticateCode(code, {}, other.token)).body.error_code).toBe('invalid_magic_link_code');
    expect((await authenticateCode(code)).status).toBe(200);
  });

  it('expires after 15 minutes by default', async () => {
    const code = await sendAndReadCode();
    t.clock.advanceSeconds(15 * 60 - 1);
    expect((await authenticateCode(code)).status).toBe(200);

    t.clock.advanceSeconds(31);
    const late = await sendAndReadCode();
    t.clock.advanceSeconds(15 * 60);
    expect((await authenticateCode(late)).body.error_code).toBe('invalid_magic_link_code');
  });

  it('email_expiration sets the lifetime in minutes', async () => {
    const code = await sendAndReadCode({ email_expiration: 60 });
    t.clock.advanceSeconds(59 * 60);
    const fresh = (await issueClientToken(t.deps, client)).access_token;
    expect((await authenticateCode(code, {}, fresh)).status).toBe(200);

    const short = await sendAndReadCode({ email_expiration: 1 });
    t.clock.advanceSeconds(60);
    expect((await authenticateCode(short, {}, fresh)).body.error_code).toBe('invalid_magic_link_code');
  });

  it("refuses the link when the user's email changed after it was sent", async () => {
    const code = await sendAndReadCode();
    const stored = await t.store.get<UserRecord>(keys.user(ada.user_id));
    await t.store.put(keys.user(ada.user_id), { ...stored!.value, email: 'ada@new.example' }, { expectVersion: stored!.version });
    const res = await authenticateCode(code);
    expect(res).toMatchObject({ status: 400, body: { error_code: 'invalid_magic_link_code' } });
  });

  it('a call with an unknown session_id fails and does not use up the code', async () => {
    const code = await sendAndReadCode();
    const res = await authenticateCode(code, { session_id: 'no-such-session' });
    expect(res).toMatchObject({ status: 400, body: { error_code: 'session_not_found' } });
    expect((await authenticateCode(code)).status).toBe(200);
  });

  it("a link of another user cannot join Ada's session", async () => {
    await seedUser(t.deps, { user_id: 'u-bob', email: 'bob@example.com' });
    const first = await authenticateCode(await sendAndReadCode());
    await send({ identifier: 'bob@example.com' });
    const bobCode = codeOf(t.outbox.last('bob@example.com')!.link!);
    const res = await authenticateCode(bobCode, { session_id: first.body.session_id });
    expect(res).toMatchObject({ status: 403, body: { error_code: 'session_user_mismatch' } });
  });

  it('two magic links in one session are one factor class: amr eml without mfa', async () => {
    const first = await authenticateCode(await sendAndReadCode());
    t.clock.advanceSeconds(31);
    const second = await authenticateCode(await sendAndReadCode(), { session_id: first.body.session_id });
    expect(second.status).toBe(200);
    expect(second.body.session_id).toBe(first.body.session_id);
    expect((await verifyIdToken(second.body.id_token)).amr).toEqual(['eml']);
  });
});
