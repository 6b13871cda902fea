/**
 * Email magic links (contract sections 4 and 8). The link is one of the
 * client's allowed redirect URIs, exactly as registered, with `code` (256
 * random bits) and `state` added to its query. The code is stored only as a
 * keyed hash, works once (one conditional put on the version read), and
 * expires after `email_expiration` minutes (default 15, max 60).
 */
import { ConflictError, ForbiddenError, InvalidInputError, InvalidMagicLinkError, InvalidRedirectUriError, UserNotFoundError } from '../errors.js';
import type { StoredRecord } from '../ports.js';
import { audited } from './audit.js';
import { keyedHash, randomToken } from './crypto.js';
import type { Deps } from './deps.js';
import { renderEmail, type EmailContent } from './email-template.js';
import { keys, toEpochSeconds, type ClientRecord, type UserRecord } from './model.js';
import { countFailed, countLimited, recordSend } from './metrics.js';
import { admitDeliveryWith, guardSendRequest, SEND_WINDOW_MS } from './rate-limits.js';
import { withResponseFloor } from './send-pacing.js';
import { authenticate, revertOwnWrite, type ClientAttributes, type CredentialCheck } from './sessions.js';
import type { ClaimsRequest, TokenResponse } from './tokens.js';
import { findUser, type IdentifierType } from './users.js';

export const LINK_DEFAULT_MINUTES = 15;
export const LINK_MAX_MINUTES = 60;
/** 32 bytes = 256 bits. */
const LINK_CODE_BYTES = 32;
const MAX_WRITE_ATTEMPTS = 4;
export const LINK_SENT_MESSAGE = 'Email sent successfully';

/** Stored at `link#<keyed hash of the code>`; the code itself is never stored. */
export interface MagicLinkRecord {
  client_id: string;
  user_id: string;
  /** The address the link went to; the link stops working if the user's email changes. */
  email: string;
  created_at: number;
  expires_at: number;
  used_at?: number;
}

export interface LinkSendInput {
  identifier_type?: IdentifierType;
  identifier?: string;
  /** Legacy form of identifier_type=email. */
  email?: string;
  redirect_uri: string;
  state?: string;
  email_expiration?: number;
  channel?: 'email' | 'direct';
  email_content?: EmailContent;
}

export interface LinkSendResult {
  message: string;
  /** Only for channel=direct. */
  link?: string;
}

function codeKey(deps: Deps, code: string): string {
  return keys.magicLink(keyedHash(deps.hashKey, code));
}

/**
 * `redirect_uri` with `code` and `state` appended to its query. The existing
 * query and fragment are kept byte for byte (only appended to).
 */
export function buildMagicLink(redirectUri: string, code: string, state?: string): string {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    throw new InvalidRedirectUriError('redirect_uri is not an absolute URI');
  }
  const params = new URLSearchParams({ code });
  if (state !== undefined) params.set('state', state);
  const existing = url.search.replace(/^\?/, '').replace(/&+$/, '');
  url.search = existing ? `${existing}&${params}` : params.toString();
  return url.toString();
}

/**
 * `POST /cis/v1/auth/link/email/send`. Known and unknown identifiers are
 * answered alike, as for OTP sends: 429s only on what was submitted, silent
 * limits on the real address, the client's response floor on every answer.
 */
export async function sendMagicLink(deps: Deps, client: ClientRecord, input: LinkSendInput): Promise<LinkSendResult> {
  // Exact string match against the registered URIs, before any lookup: no prefix, no normalisation.
  if (!client.redirect_uris.includes(input.redirect_uri)) throw new InvalidRedirectUriError();
  const direct = input.channel === 'direct';
  if (direct && !client.allow_direct_delivery) throw new ForbiddenError('direct delivery is not enabled for this client');

  const type: IdentifierType = input.identifier !== undefined ? (input.identifier_type ?? 'email') : 'email';
  const identifier = input.identifier ?? input.email!;
  const minutes = input.email_expiration ?? LINK_DEFAULT_MINUTES;

  return withResponseFloor(deps, client, 'link/email/send', async () => {
    const found = await findUser(deps, type, identifier);
    const user = found?.value.status === 'Active' ? found.value : undefined;
    if ((!user || user.email === undefined) && client.reveal_unknown_users) {
      if (!user) throw new UserNotFoundError();
      throw new InvalidInputError('The user has no email address');
    }

    const guard = await guardSendRequest(deps, client, { channel: 'email', identifierType: type, identifier }, { delivering: user?.email !== undefined && !direct }).catch(countLimited(deps, 'email'));
    if (!user || user.email === undefined) {
      // Same answer as for a known user; nothing is stored or sent.
      recordSend(deps, { channel: 'email', outcome: 'unknown' });
      return direct ? { message: LINK_SENT_MESSAGE, link: buildMagicLink(input.redirect_uri, randomToken(LINK_CODE_BYTES), input.state) } : { message: LINK_SENT_MESSAGE };
    }
    if (!direct) {
      // The address's send log is kept on the user's email code record, shared with OTP and verification sends.
      const logKey = keys.otp(user.user_id, 'email');
      const expiresAt = Math.ceil((deps.clock.now() + SEND_WINDOW_MS) / 1000);
      const verdict = await admitDeliveryWith(
        deps,
        guard,
        (log) => deps.store.logSendOnRecord(logKey, log, expiresAt),
        () => deps.store.getRecordSendLog(logKey),
      );
      if (verdict === 'destination_limit') {
        deps.logger.warn('magic link send dropped', { user_id: user.user_id, reason: verdict, client_id: client.client_id });
        recordSend(deps, { channel: 'email', outcome: 'dropped' });
        return { message: LINK_SENT_MESSAGE };
      }
    }

    const code = randomToken(LINK_CODE_BYTES);
    const link = buildMagicLink(input.redirect_uri, code, input.state);
    const now = deps.clock.now();
    const record: MagicLinkRecord = {
      client_id: client.client_id,
      user_id: user.user_id,
      email: user.email,
      created_at: now,
      expires_at: now + minutes * 60_000,
    };
    const key = codeKey(deps, code);
    const version = await deps.store.put(key, record, { expectVersion: null, expiresAt: toEpochSeconds(record.expires_at) + 3600 });
    if (direct) {
      recordSend(deps, { channel: 'email', outcome: 'direct' });
      return { message: LINK_SENT_MESSAGE, link };
    }

    const email = renderEmail(deps.settings.appName, input.email_content, { link }, minutes);
    try {
      await deps.mailer.sendEmail({ to: user.email, ...email, link }).catch(countFailed(deps, 'email', undefined));
    } catch (error) {
      // An undelivered link must not stay usable: remove it, then report the outage.
      await deps.store.delete(key, { expectVersion: version }).catch((cleanup: unknown) => {
        deps.logger.warn('could not remove an undelivered magic link', { error: cleanup instanceof Error ? cleanup.name : String(cleanup) });
      });
      throw error;
    }
    recordSend(deps, { channel: 'email', outcome: 'delivered' });
    return { message: LINK_SENT_MESSAGE };
  });
}

export interface LinkAuthenticateInput {
  code: string;
  session_id?: string;
  client_attributes?: ClientAttributes;
  /** OIDC `max_age` in seconds: older authentications are left out of this response's `amr`, `amr_at` and `mfa`. */
  max_age?: number;
  claims?: ClaimsRequest;
}

/** Whether a stored link may still be used by `client` at `now`. */
export function isLinkUsable(link: MagicLinkRecord, client: ClientRecord, now: number): boolean {
  return link.client_id === client.client_id && link.used_at === undefined && now < link.expires_at;
}

/** `POST /cis/v1/auth/link/email/authenticate`: method `eml`; marks the email verified. */
export async function authenticateMagicLink(deps: Deps, client: ClientRecord, input: LinkAuthenticateInput): Promise<TokenResponse> {
  const known = { client_id: client.client_id, method: 'eml', ip: input.client_attributes?.ip_address ?? null };
  return audited(deps, 'authentication', known, () => checkAndAuthenticateMagicLink(deps, client, input));
}

async function checkAndAuthenticateMagicLink(deps: Deps, client: ClientRecord, input: LinkAuthenticateInput): Promise<TokenResponse> {
  const key = codeKey(deps, input.code);
  const stored = await deps.store.get<MagicLinkRecord>(key);
  if (!stored || !isLinkUsable(stored.value, client, deps.clock.now())) throw new InvalidMagicLinkError();
  return authenticate(
    deps,
    { client, userId: stored.value.user_id, method: 'eml', sessionId: input.session_id, clientAttributes: input.client_attributes, maxAge: input.max_age, claims: input.claims },
    () => checkLink(deps, client, key, stored),
  );
}

async function checkLink(deps: Deps, client: ClientRecord, key: string, link: StoredRecord<MagicLinkRecord>): Promise<CredentialCheck> {
  const record = await deps.store.get<UserRecord>(keys.user(link.value.user_id));
  const now = deps.clock.now();
  if (!record || !linkStillNamesUser(link.value, record.value) || !isLinkUsable(link.value, client, now)) throw new InvalidMagicLinkError();
  let consumedVersion: number | undefined;
  return {
    user: withEmailVerified(record.value, now),
    commit: async () => {
      // Verify the address first: the single-use write is the last thing a failure could follow.
      await markEmailVerified(deps, link.value, record);
      // The one conditional write that makes the code single-use: a lost race means it was used.
      try {
        consumedVersion = await deps.store.put(key, { ...link.value, used_at: deps.clock.now() }, {
          expectVersion: link.version,
          expiresAt: toEpochSeconds(link.value.expires_at) + 3600,
        });
      } catch (error) {
        if (error instanceof ConflictError) throw new InvalidMagicLinkError();
        throw error;
      }
    },
    undo: async () => {
      if (consumedVersion === undefined) return;
      await revertOwnWrite<MagicLinkRecord>(deps, key, consumedVersion, ({ used_at: _used, ...unused }) => unused);
    },
  };
}

function linkStillNamesUser(link: MagicLinkRecord, user: UserRecord): boolean {
  return user.status === 'Active' && user.email === link.email;
}

function withEmailVerified(user: UserRecord, now: number): UserRecord {
  if (user.email_verified) return user;
  return { ...user, email_verified: true, email_verified_at: now, updated_at: now };
}

/** Writes the verification with a conditional put on the user version, re-judging if the user changed. */
async function markEmailVerified(deps: Deps, link: MagicLinkRecord, read: StoredRecord<UserRecord>): Promise<void> {
  let record: StoredRecord<UserRecord> | undefined = read;
  for (let attempt = 1; ; attempt++) {
    if (!record || !linkStillNamesUser(link, record.value)) throw new InvalidMagicLinkError();
    if (record.value.email_verified) return;
    try {
      await deps.store.put(keys.user(link.user_id), withEmailVerified(record.value, deps.clock.now()), { expectVersion: record.version });
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      record = await deps.store.get<UserRecord>(keys.user(link.user_id));
    }
  }
}
