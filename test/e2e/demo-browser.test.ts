/**
 * The step-up demo in a real browser: headless Chromium driven by
 * playwright-core over the local server, with CDP virtual authenticators as
 * the passkey providers. Only the page is touched; the demo backend calls
 * Twofold's HTTP API as any integration would.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startLocalServer, type LocalServer } from '../../functions/adapters/local/server.js';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { launchChromium, withVirtualAuthenticator } from '../support/browser.js';
import { TEST_SCRYPT } from '../support/harness.js';

const PASSWORD = 'purple elephant on a unicycle';

let server: LocalServer;
let launched: Promise<Browser> | undefined;
let demoUrl: string;

/** Launched by the first test that needs it, so a missing browser fails each test (never skips it). */
function browser(): Promise<Browser> {
  launched ??= launchChromium();
  return launched;
}

beforeAll(async () => {
  server = await startLocalServer({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `demo-${Date.now()}`,
    logger: jsonLogger(process.env.E2E_LOG ? 'info' : 'silent'),
    settings: { scrypt: TEST_SCRYPT },
  });
  // The page's origin is localhost (the seeded client's WebAuthn origin), not 127.0.0.1.
  demoUrl = `http://localhost:${new URL(server.url).port}/local/demo`;
});

afterAll(async () => {
  await launched?.then((b) => b.close()).catch(() => {});
  await server?.close();
});

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent()) ?? '';
}

async function waitForMessage(page: Page, words: string): Promise<void> {
  await page.locator('#message', { hasText: words }).waitFor();
}

async function signUp(page: Page, username: string, phone: string): Promise<void> {
  await page.goto(demoUrl);
  await page.fill('#signup-username', username);
  await page.fill('#signup-phone', phone);
  await page.fill('#signup-password', PASSWORD);
  await page.click('#signup button');
  await waitForMessage(page, 'Account created');
}

async function logIn(page: Page, username: string): Promise<void> {
  await page.fill('#login-username', username);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login button');
  await page.locator('#signed-in').waitFor();
}

async function addPasskey(page: Page): Promise<void> {
  await page.click('#add-passkey');
  await waitForMessage(page, 'Passkey added');
}

// A ceiling for a loaded machine, not a timing assertion: each test takes a few seconds.
describe('the step-up demo in Chromium', { timeout: 60_000 }, () => {
  it('sign up, password, add a passkey, log out; then password + passkey is MFA', async () => {
    const { page, context } = await withVirtualAuthenticator(await browser());
    await signUp(page, 'ada', '+15550001001');
    await logIn(page, 'ada');
    expect(await text(page, '#amr')).toBe('["pwd"]');
    expect(await text(page, '#mfa')).toBe('no');
    await addPasskey(page);
    await page.click('#logout');
    await page.locator('#signed-out').waitFor();

    await logIn(page, 'ada');
    await page.click('#sensitive');
    await page.click('#step-up-passkey');
    await page.locator('#result', { hasText: 'Done' }).waitFor();
    expect(JSON.parse(await text(page, '#amr'))).toEqual(['pwd', 'webauthn', 'mfa']);
    expect(await text(page, '#mfa')).toBe('yes');
    await context.close();
  });

  it('refuses a passkey from another authenticator that claims the same credential', async () => {
    const first = await withVirtualAuthenticator(await browser());
    await signUp(first.page, 'grace', '+15550001002');
    await logIn(first.page, 'grace');
    await addPasskey(first.page);
    const { credentials } = await first.cdp.send('WebAuthn.getCredentials', { authenticatorId: first.authenticatorId });
    expect(credentials).toHaveLength(1);
    await first.context.close();

    // A second authenticator holds a credential with the same ID and user, but its own key.
    const second = await withVirtualAuthenticator(await browser());
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await second.cdp.send('WebAuthn.addCredential', {
      authenticatorId: second.authenticatorId,
      credential: {
        ...credentials[0]!,
        privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        signCount: 0,
      },
    });
    await second.page.goto(demoUrl);
    await logIn(second.page, 'grace');
    await second.page.click('#sensitive');
    await second.page.click('#step-up-passkey');
    await waitForMessage(second.page, 'refused');
    expect(await text(second.page, '#amr')).toBe('["pwd"]');
    expect(await text(second.page, '#mfa')).toBe('no');
    expect(await second.page.locator('#result').isHidden()).toBe(true);

    // The other second factor still works: an SMS code, read from the outbox.
    await second.page.click('#step-up-sms');
    await second.page.locator('#sms-form').waitFor();
    await second.page.fill('#sms-code', server.outbox.last('+15550001002')!.code!);
    await second.page.click('#sms-verify');
    await second.page.locator('#result', { hasText: 'Done' }).waitFor();
    expect(JSON.parse(await text(second.page, '#amr'))).toEqual(['pwd', 'sms', 'mfa']);
    if (process.env.DEMO_SCREENSHOT) await second.page.screenshot({ path: process.env.DEMO_SCREENSHOT, fullPage: true });
    await second.context.close();
  });

  it('sign up, password, SMS step-up, generate recovery codes, log out; then password + recovery code is MFA, and a used code is refused', async () => {
    const { page, context } = await withVirtualAuthenticator(await browser());
    await signUp(page, 'lin', '+15550001003');
    await logIn(page, 'lin');
    expect(await page.locator('#generate-codes').isHidden()).toBe(true);
    await page.click('#sensitive');
    await page.click('#step-up-sms');
    await page.locator('#sms-form').waitFor();
    await page.fill('#sms-code', server.outbox.last('+15550001003')!.code!);
    await page.click('#sms-verify');
    await page.locator('#result', { hasText: 'Done' }).waitFor();

    // With MFA the page offers recovery codes, shown once.
    await page.click('#generate-codes');
    await page.locator('#codes-list li').first().waitFor();
    const codes = await page.locator('#codes-list li').allTextContents();
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(await text(page, '#codes')).toContain('shown only');
    await page.click('#logout');
    await page.locator('#signed-out').waitFor();
    expect(await page.locator('#codes-list li').count()).toBe(0);

    // Without the phone: password, then a recovery code (typed in lower case, as people do).
    const useCode = async (code: string) => {
      await logIn(page, 'lin');
      await page.click('#sensitive');
      await page.click('#step-up-recovery');
      await page.fill('#recovery-code', code);
      await page.click('#recovery-verify');
    };
    const before = Math.floor(Date.now() / 1000);
    await useCode(codes[0]!.toLowerCase());
    await page.locator('#result', { hasText: 'Done' }).waitFor();
    await waitForMessage(page, '9 left');
    expect(JSON.parse(await text(page, '#amr'))).toEqual(['pwd', 'recovery_code', 'mfa']);
    expect(await text(page, '#mfa')).toBe('yes');
    const amrAt = JSON.parse(await text(page, '#amr-at'));
    expect(Object.keys(amrAt).sort()).toEqual(['pwd', 'recovery_code']);
    expect(amrAt.recovery_code).toBeGreaterThanOrEqual(before - 1);
    expect(amrAt.recovery_code).toBeGreaterThanOrEqual(amrAt.pwd);
    await page.click('#logout');
    await page.locator('#signed-out').waitFor();

    // The same code again: refused in the page, and the session stays a single factor.
    await useCode(codes[0]!);
    await waitForMessage(page, 'refused');
    expect(await text(page, '#amr')).toBe('["pwd"]');
    expect(await text(page, '#mfa')).toBe('no');
    expect(await page.locator('#result').isHidden()).toBe(true);
    await context.close();
  });

  it('a user with a second factor steps up with it before adding a passkey, and the page says why', async () => {
    const { page, context, cdp, authenticatorId } = await withVirtualAuthenticator(await browser());
    await signUp(page, 'mae', '+15550001004');
    await logIn(page, 'mae');
    // An SMS step-up verifies the phone, and with MFA the user keeps a set of recovery codes.
    await page.click('#sensitive');
    await page.click('#step-up-sms');
    await page.locator('#sms-form').waitFor();
    await page.fill('#sms-code', server.outbox.last('+15550001004')!.code!);
    await page.click('#sms-verify');
    await page.locator('#result', { hasText: 'Done' }).waitFor();
    await page.click('#generate-codes');
    await page.locator('#codes-list li').first().waitFor();
    const codes = await page.locator('#codes-list li').allTextContents();
    await page.click('#logout');
    await page.locator('#signed-out').waitFor();

    // A password alone no longer adds a passkey: the page explains and offers the step-up.
    await logIn(page, 'mae');
    await page.click('#add-passkey');
    await waitForMessage(page, 'already has a second factor');
    expect(await text(page, '#step-up-why')).toContain('someone who learned only your password');
    expect(await page.locator('#step-up').isVisible()).toBe(true);
    expect(await page.locator('#step-up-sms').isVisible()).toBe(true);
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(0);

    // After a second factor (a recovery code here: the phone had a code moments ago), the passkey goes in.
    await page.click('#step-up-recovery');
    await page.fill('#recovery-code', codes[0]!);
    await page.click('#recovery-verify');
    await waitForMessage(page, 'Passkey added');
    expect(await page.locator('#step-up').isHidden()).toBe(true);
    expect(JSON.parse(await text(page, '#amr'))).toEqual(['pwd', 'recovery_code', 'mfa']);
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(1);
    await context.close();
  });
});
