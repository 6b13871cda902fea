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
import { enqueueDelivery } from './delivery.js';
import { codeRecordLogTtl } from './otp.js';
import { unknownSubject } from './attempts.js';
import { countLimited, recordSend } from './metrics.js';
import { admitDeliveryWith, guardSendRequest, SEND_COOLDOWN_MS, SENDS_PER_WINDOW } from './rate-limits.js';
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
 * limits on the real address, and the same requests: a lookup of two reads,
 * the budget, the submitted identifier's log, the address's log, the link
 * record, one message on the queue. For nobody, the log is kept on the
 * identifier's decoy record, the link record is a decoy no code opens, and
 * the message is a decoy the sender drops.
 */
export async function sendMagicLink(deps: Deps, client: ClientRecord, input: LinkSendInput): Promise<LinkSendResult> {
  // Exact string match against the registered URIs, before any lookup: no prefix, no normalisation.
  if (!client.redirect_uris.includes(input.redirect_uri)) throw new InvalidRedirectUriError();
  const direct = input.channel === 'direct';
  if (direct && !client.allow_direct_delivery) throw new ForbiddenError('direct delivery is not enabled for this client');

  const type: IdentifierType = input.identifier !== undefined ? (input.identifier_type ?? 'email') : 'email';
  const identifier = input.identifier ?? input.email!;
  const minutes = input.email_expiration ?? LINK_DEFAULT_MINUTES;

  const user = (await findUser(deps, type, identifier))?.value;
  const active = user?.status === 'Active' ? user : undefined;
  if ((!active || active.email === undefined) && client.reveal_unknown_users) {
    if (!active) throw new UserNotFoundError();
    throw new InvalidInputError('The user has no email address');
  }

  const guard = await guardSendRequest(deps, client, { channel: 'email', identifierType: type, identifier }, { delivering: active?.email !== undefined && !direct }).catch(
    countLimited(deps, 'email'),
  );
  // What goes out, built alike for a real address and for nobody: the same code, link and email, so both paths do the same work.
  const code = randomToken(LINK_CODE_BYTES);
  const subject = unknownSubject(type, identifier);
  const link = buildMagicLink(input.redirect_uri, code, input.state);
  const email = renderEmail(deps.settings.appName, input.email_content, { link }, minutes);
  const decoy = () => enqueueDelivery(deps, { kind: 'decoy', channel: 'email', expires_at: deps.clock.now() + minutes * 60_000, message: { to: '', ...email, link } });
  const now = deps.clock.now();
  const key = codeKey(deps, code);
  if (!active || active.email === undefined) {
    // Same answer and the same writes as for a known user: a decoy link record no one has the code of (its user is
    // nobody), and for a delivery a send log on the identifier's decoy record and a decoy message, which the sender drops.
    if (!direct) {
      await deps.store.logSendOnRecord(keys.otpDecoy(subject, 'email'), { now, lastAtOrBefore: now - SEND_COOLDOWN_MS, maxEntries: SENDS_PER_WINDOW }, codeRecordLogTtl(now)).catch((error: unknown) => {
        if (!(error instanceof ConflictError)) throw error; // a full decoy log refuses as a real one would; nothing to deliver either way
      });
    }
    await deps.store.put(key, { client_id: client.client_id, user_id: '', email: '', created_at: now, expires_at: now + minutes * 60_000 } satisfies MagicLinkRecord, {
      expectVersion: null,
      expiresAt: toEpochSeconds(now + minutes * 60_000) + 3600,
    });
    recordSend(deps, { channel: 'email', outcome: 'unknown' });
    if (direct) return { message: LINK_SENT_MESSAGE, link };
    await decoy();
    return { message: LINK_SENT_MESSAGE };
  }
  if (!direct) {
    // The address's send log is kept on the user's email code record, shared with OTP and verification sends.
    const logKey = keys.otp(active.user_id, 'email');
    const verdict = await admitDeliveryWith(
      deps,
      guard,
      (log) => deps.store.logSendOnRecord(logKey, log, codeRecordLogTtl(deps.clock.now())),
      () => deps.store.getRecordSendLog(logKey),
    );
    if (verdict === 'destination_limit') {
      deps.logger.warn('magic link send dropped', { user_id: active.user_id, reason: verdict, client_id: client.client_id });
      await decoy();
      recordSend(deps, { channel: 'email', outcome: 'dropped' });
      return { message: LINK_SENT_MESSAGE };
    }
  }

  const record: MagicLinkRecord = {
    client_id: client.client_id,
    user_id: active.user_id,
    email: active.email,
    created_at: now,
    expires_at: now + minutes * 60_000,
  };
  const version = await deps.store.put(key, record, { expectVersion: null, expiresAt: toEpochSeconds(record.expires_at) + 3600 });
  if (direct) {
    recordSend(deps, { channel: 'email', outcome: 'direct' });
    return { message: LINK_SENT_MESSAGE, link };
  }

  try {
    await enqueueDelivery(deps, { kind: 'link', record: key, channel: 'email', expires_at: record.expires_at, message: { to: active.email, ...email, link } });
  } catch (error) {
    // A link that will never be delivered must not stay usable: remove it, then report the outage.
    await deps.store.delete(key, { expectVersion: version }).catch((cleanup: unknown) => {
      deps.logger.warn('could not remove an undelivered magic link', { error: cleanup instanceof Error ? cleanup.name : String(cleanup) });
    });
    throw error;
  }
  recordSend(deps, { channel: 'email', outcome: 'queued' });
  return { message: LINK_SENT_MESSAGE };
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
