/**
 * The step-up demo served by the local server only (never in the AWS stack):
 * GET /local/demo is one page (demo.html), and /local/demo/api/* is a tiny
 * relying-party backend behind it, written the way a real integration must
 * be: it holds the client secret and each visitor's Twofold `session_id` and
 * tokens server-side (the browser gets an opaque cookie), calls Twofold's
 * HTTP API like any other backend would, and verifies ID tokens against the
 * published keys before trusting their `amr`.
 *
 * The sensitive action asks Twofold for the session with `max_age: 300`: it
 * goes ahead only when the session holds MFA within the last 5 minutes, and
 * otherwise answers with the second factors the page may offer (`step_up`):
 * a passkey, an SMS code, or, for a user without their phone or passkey, one
 * of the recovery codes they generated earlier (password + recovery code is
 * MFA too; each code works once).
 *
 * Adding a passkey is a factor lifecycle step: Twofold lets a session add a
 * factor only when it proved the factors the user already holds (MFA within
 * the last 15 minutes), except for a user with nothing but a password, who
 * adds a first one from a password login. When Twofold refuses with
 * `auth_mfa_required`, this backend answers with the same step-up offer as
 * the sensitive action, and the page says why before asking for it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface DemoOptions {
  /** Where Twofold's API answers (the local server itself). */
  apiUrl: string;
  /** The `iss` of its tokens. */
  issuer: string;
  clientId: string;
  clientSecret: string;
}

/** What the backend keeps per visitor; the browser only ever sees the cookie that names it. */
interface Visitor {
  sessionId: string;
  accessToken: string;
  /** The verified ID token: `amr` lists the methods, `amr_at` when each was last used (epoch seconds). */
  claims: JWTPayload & { amr?: string[]; amr_at?: Record<string, number>; phone_number?: string };
  username: string;
}

type Reply = { status: number; body: unknown };
type ApiHandler = (visitor: Visitor | undefined, body: Record<string, any>, req: IncomingMessage) => Promise<Reply>;

const COOKIE = 'demo_session';
/** "Recently" for the sensitive action: MFA within the last 5 minutes. */
const STEP_UP_MAX_AGE = 300;

export function createDemo(options: DemoOptions): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> {
  const page = readFileSync(new URL('./demo.html', import.meta.url), 'utf8');
  const visitors = new Map<string, Visitor>();
  const jwks = createRemoteJWKSet(new URL(`${options.apiUrl}/cis/oidc/jwks`));
  let clientToken: { value: string; until: number } | undefined;

  /** A client access token (client credentials grant), reused until shortly before it expires. */
  async function clientAccessToken(): Promise<string> {
    if (clientToken && Date.now() < clientToken.until) return clientToken.value;
    const res = await fetch(`${options.apiUrl}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: options.clientId, client_secret: options.clientSecret }),
    });
    const token = (await res.json()) as { access_token: string; expires_in: number };
    clientToken = { value: token.access_token, until: Date.now() + (token.expires_in - 60) * 1000 };
    return token.access_token;
  }

  /** One call to Twofold; `bearer` is a user access token for the routes that take one, else the client token. */
  async function twofold(path: string, body: unknown, bearer?: string): Promise<Reply> {
    const res = await fetch(`${options.apiUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${bearer ?? (await clientAccessToken())}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** The end user's address and browser, passed on to Twofold (sessions are bound to the IP). */
  function clientAttributes(req: IncomingMessage) {
    const ip = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    return { ip_address: ip, user_agent: String(req.headers['user-agent'] ?? '').slice(0, 512) };
  }

  /** Keeps the tokens of a token response, after verifying its ID token as any relying party must. */
  async function remember(visitor: Visitor, tokens: { access_token: string; id_token: string; session_id?: string }): Promise<void> {
    const { payload } = await jwtVerify(tokens.id_token, jwks, { algorithms: ['ES256'], issuer: options.issuer, audience: options.clientId, typ: 'JWT' });
    visitor.accessToken = tokens.access_token;
    visitor.claims = payload;
    if (tokens.session_id) visitor.sessionId = tokens.session_id;
  }

  /** What the page shows: who is signed in, the ID token's `amr` and `amr_at`, and whether it says `mfa`. */
  function view(visitor: Visitor | undefined): Reply {
    if (!visitor) return { status: 200, body: { signed_in: false } };
    const amr = visitor.claims.amr ?? [];
    return { status: 200, body: { signed_in: true, username: visitor.username, amr, amr_at: visitor.claims.amr_at ?? {}, mfa: amr.includes('mfa') } };
  }

  /**
   * Asks Twofold what this session holds from the last STEP_UP_MAX_AGE
   * seconds (older factors are left out of `amr`) and keeps the fresh tokens.
   */
  async function refresh(visitor: Visitor, req: IncomingMessage): Promise<Reply | undefined> {
    const tokens = await twofold('/cis/v1/auth/session/authenticate', { session_id: visitor.sessionId, max_age: STEP_UP_MAX_AGE, client_attributes: clientAttributes(req) });
    if (tokens.status !== 200) return failed(tokens);
    await remember(visitor, tokens.body as never);
    return undefined;
  }

  /** The second factors the page may offer for a step-up: a passkey if the user has one, SMS if a phone, and recovery codes. */
  async function stepUpOffer(visitor: Visitor): Promise<string[]> {
    const passkeys = await twofold(`/cis/v1/users/${encodeURIComponent(String(visitor.claims.sub))}/webauthn-credentials`, undefined);
    const hasPasskey = passkeys.status === 200 && (passkeys.body as unknown[]).length > 0;
    // Recovery codes are always offered: whether the user has any is theirs to know, not the page's.
    return [...(hasPasskey ? ['passkey'] : []), ...(visitor.claims.phone_number ? ['sms'] : []), 'recovery'];
  }

  const failed = (reply: Reply): Reply => ({ status: reply.status, body: { error: (reply.body as { message?: string })?.message ?? 'Request failed' } });
  const signedOut: Reply = { status: 401, body: { error: 'Log in first' } };

  /** Second factors for the step-up, by name. */
  const stepUp: Record<string, ApiHandler> = {
    'sms/send': async (visitor) => {
      if (!visitor?.claims.phone_number) return signedOut;
      const sent = await twofold('/cis/v1/auth/otp/send', { channel: 'sms', identifier_type: 'phone_number', identifier: visitor.claims.phone_number });
      return sent.status === 200 ? { status: 200, body: { sent_to: visitor.claims.phone_number } } : failed(sent);
    },
    'sms/verify': async (visitor, body, req) => {
      if (!visitor?.claims.phone_number) return signedOut;
      const tokens = await twofold('/cis/v1/auth/otp/authenticate', {
        passcode: String(body.code ?? ''),
        identifier_type: 'phone_number',
        identifier: visitor.claims.phone_number,
        session_id: visitor.sessionId,
        client_attributes: clientAttributes(req),
      });
      if (tokens.status !== 200) return failed(tokens);
      await remember(visitor, tokens.body as never);
      return view(visitor);
    },
    'passkey/start': async (visitor) => {
      if (!visitor) return signedOut;
      const started = await twofold('/cis/v1/auth/webauthn/authenticate/start', { username: visitor.username });
      return started.status === 200 ? { status: 200, body: (started.body as any).credential_request_options } : failed(started);
    },
    'passkey/finish': async (visitor, body, req) => {
      if (!visitor) return signedOut;
      const tokens = await twofold('/cis/v1/auth/webauthn/authenticate', {
        // base64url of the UTF-8 JSON of the browser's PublicKeyCredential.toJSON()
        webauthn_encoded_result: Buffer.from(JSON.stringify(body.credential), 'utf8').toString('base64url'),
        session_id: visitor.sessionId,
        client_attributes: clientAttributes(req),
      });
      if (tokens.status !== 200) return failed(tokens);
      await remember(visitor, tokens.body as never);
      return view(visitor);
    },
    // For a user without their phone or passkey: one recovery code, which then stops working.
    'recovery/verify': async (visitor, body, req) => {
      if (!visitor) return signedOut;
      const tokens = await twofold('/cis/v1/auth/recovery-codes/authenticate', {
        code: String(body.code ?? ''),
        identifier_type: 'user_id',
        identifier: visitor.claims.sub,
        session_id: visitor.sessionId,
        client_attributes: clientAttributes(req),
      });
      if (tokens.status === 400) return { status: 400, body: { error: 'That recovery code was refused: mistyped, or already used.' } };
      if (tokens.status !== 200) return failed(tokens);
      await remember(visitor, tokens.body as never);
      return { status: 200, body: { ...(view(visitor).body as object), recovery_codes_remaining: (tokens.body as any).recovery_codes_remaining } };
    },
  };

  const api: Record<string, ApiHandler> = {
    signup: async (_visitor, body) => {
      const created = await twofold('/cis/v1/users', {
        username: body.username,
        phone_number: body.phone_number,
        credentials: { password: body.password },
      });
      return created.status === 201 ? { status: 201, body: { created: true } } : failed(created);
    },
    login: async (_visitor, body, req) => {
      const tokens = await twofold('/cis/v1/auth/password/authenticate', {
        username: body.username,
        password: body.password,
        client_attributes: clientAttributes(req),
      });
      if (tokens.status !== 200) return failed(tokens);
      const visitor = { username: String(body.username) } as Visitor;
      await remember(visitor, tokens.body as never);
      return { ...view(visitor), visitor };
    },
    me: async (visitor) => view(visitor),
    logout: async (visitor) => {
      if (visitor) await twofold('/cis/v1/auth/session/logout', { session_id: visitor.sessionId });
      return { status: 200, body: { signed_in: false }, forget: true } as Reply;
    },
    // The "sensitive action": allowed only with MFA in the last STEP_UP_MAX_AGE seconds.
    sensitive: async (visitor, _body, req) => {
      if (!visitor) return signedOut;
      const refused = await refresh(visitor, req);
      if (refused) return refused;
      const amr = visitor.claims.amr ?? [];
      if (amr.includes('mfa')) return { status: 200, body: { ...(view(visitor).body as object), done: true, secret: 'The vault is open: 4 8 15 16 23 42' } };
      return { status: 200, body: { ...(view(visitor).body as object), done: false, step_up: await stepUpOffer(visitor) } };
    },
    // Adding a passkey needs the user access token of a fresh session (password within 5 minutes).
    // The user access token's session is bound to the user's IP: every call with it passes client_attributes.
    'passkeys/start': async (visitor, _body, req) => {
      if (!visitor) return signedOut;
      const refused = await refresh(visitor, req);
      if (refused) return refused;
      if ((visitor.claims.amr ?? []).length === 0) return { status: 403, body: { error: 'Log in again to add a passkey' } };
      const started = await twofold('/cis/v1/auth/webauthn/register/start', { display_name: visitor.username, client_attributes: clientAttributes(req) }, visitor.accessToken);
      if (started.status === 403 && (started.body as { error_code?: string }).error_code === 'auth_mfa_required') {
        // The account already has a second factor: whoever adds a passkey must prove it first.
        return {
          status: 403,
          body: {
            error: 'Your account already has a second factor. Confirm it is you with it before adding a passkey, so that someone who learned only your password cannot add one of their own.',
            step_up: await stepUpOffer(visitor),
          },
        };
      }
      return started.status === 200 ? { status: 200, body: (started.body as any).credential_creation_options } : failed(started);
    },
    'passkeys/finish': async (visitor, body, req) => {
      if (!visitor) return signedOut;
      const registered = await twofold(
        '/cis/v1/auth/webauthn/register',
        { webauthn_encoded_result: Buffer.from(JSON.stringify(body.credential), 'utf8').toString('base64url'), client_attributes: clientAttributes(req) },
        visitor.accessToken,
      );
      return registered.status === 201 ? { status: 201, body: { registered: true, name: (registered.body as any).name } } : failed(registered);
    },
    // A new set of recovery codes replaces the old one, so it needs MFA within the last 5 minutes.
    // The codes pass through to the page once and are kept nowhere here; Twofold stores only their hashes.
    'recovery-codes': async (visitor, _body, req) => {
      if (!visitor) return signedOut;
      const refused = await refresh(visitor, req);
      if (refused) return refused;
      if (!(visitor.claims.amr ?? []).includes('mfa')) return { status: 403, body: { error: 'Confirm it is you with a second factor first (do the sensitive action).' } };
      const generated = await twofold('/cis/v1/auth/recovery-codes', { client_attributes: clientAttributes(req) }, visitor.accessToken);
      return generated.status === 201 ? { status: 201, body: { codes: (generated.body as { codes: string[] }).codes } } : failed(generated);
    },
    ...Object.fromEntries(Object.entries(stepUp).map(([name, handler]) => [`step-up/${name}`, handler])),
  };

  return async (req, res, url) => {
    if (url.pathname === '/local/demo' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(page);
      return true;
    }
    const name = /^\/local\/demo\/api\/(.+)$/.exec(url.pathname)?.[1];
    const handler = name !== undefined ? api[name] : undefined;
    if (!handler) return false;
    const cookie = /(?:^|;\s*)demo_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1];
    const visitor = cookie ? visitors.get(cookie) : undefined;
    let body: Record<string, any> = {};
    if (req.method === 'POST') {
      // JSON only: with the SameSite=Strict cookie this keeps other sites from posting here.
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
        res.writeHead(415).end();
        return true;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, any>;
    }
    const reply = (await handler(visitor, body, req)) as Reply & { visitor?: Visitor; forget?: boolean };
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
    if (reply.visitor) {
      const id = randomBytes(24).toString('base64url');
      visitors.set(id, reply.visitor);
      headers['Set-Cookie'] = `${COOKIE}=${id}; Path=/local/demo; HttpOnly; SameSite=Strict`;
    }
    if (reply.forget && cookie) {
      visitors.delete(cookie);
      headers['Set-Cookie'] = `${COOKIE}=; Path=/local/demo; HttpOnly; SameSite=Strict; Max-Age=0`;
    }
    res.writeHead(reply.status, headers);
    res.end(JSON.stringify(reply.body));
    return true;
  };
}
