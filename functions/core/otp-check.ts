/**
 * Checking one-time passcodes (contract sections 4 and 8): the one decision
 * path of a guess, for a user's code and for a decoy alike, the consume that
 * makes a code single use, and `POST /cis/v1/auth/otp/authenticate`. The
 * records and rules are core/otp.ts's; see there for how guesses are
 * counted before they are compared.
 */
import { ConflictError, InvalidCredentialsError, LockedError, OtpExpiredError, ServiceUnavailableError } from '../errors.js';
import type { AttemptCounter, StoredRecord, ValueConditions } from '../ports.js';
import { giveBackAttempt, judgeCounter, unknownSubject, type Reservation } from './attempts.js';
import { audited, auditLockout } from './audit.js';
import { constantTimeEqual, keyedHash, randomId } from './crypto.js';
import type { Deps } from './deps.js';
import { keys, type ClientRecord, type UserRecord } from './model.js';
import {
  AMR_OF_CHANNEL,
  CHANNEL_ATTEMPTS,
  CHANNEL_LOCK_MS,
  channelLockedError,
  channelOfIdentifier,
  codeLockedError,
  contactOf,
  decoyAsRecord,
  MAX_CODE_ATTEMPTS,
  otpRecordTtl,
  pickChannel,
  reachableOn,
  usableCode,
  withContactVerified,
  wrongPasscodeError,
  type Attempt,
  type OtpChannel,
  type OtpCode,
  type OtpDecoy,
  type OtpPurpose,
  type OtpRecord,
} from './otp.js';
import { authenticate, findUserJoining, revertOwnWrite, type ClientAttributes, type CredentialCheck } from './sessions.js';
import type { ClaimsRequest, TokenResponse } from './tokens.js';
import { modifyUser, type IdentifierType } from './users.js';

/** Conditional-write retries on a contended OTP record. */
const MAX_WRITE_ATTEMPTS = 5;
/** Rounds of counting a guess: each failed one means another attempt changed the record (counted, restarted, gave back, resent). */
const MAX_COUNT_ROUNDS = 8;

export interface CheckRequest {
  client: ClientRecord;
  user: UserRecord;
  channel: OtpChannel;
  purpose: OtpPurpose;
  passcode: string;
  requestId?: string;
  /** The user's record as this request read it (with its version), to write without reading it again. */
  read?: StoredRecord<UserRecord> | undefined;
}

/**
 * Counts the passcode on its code and its channel (refusing it uncompared if
 * either limit holds), then compares it. A wrong one is refused. A right one
 * returns the user as the commit will leave it (contact verified) and a
 * commit that verifies the contact, consumes the code with a put on the
 * version read (auth_invalid_credentials if a concurrent use won) and gives
 * the channel attempt back.
 */
export async function checkCode(deps: Deps, request: CheckRequest): Promise<CredentialCheck> {
  const { user, channel } = request;
  const key = keys.otp(user.user_id, channel);
  const attempt: Attempt = {
    passcodeHash: keyedHash(deps.hashKey, request.passcode),
    purpose: request.purpose,
    client_id: request.client.client_id,
    destination: contactOf(user, channel) ?? '',
    ...(request.requestId !== undefined && { request_id: request.requestId }),
  };
  const { stored, code, onCode, onChannel } = await countAndCompare<OtpRecord>(deps, key, (record) => record, attempt, { subject: user.user_id, channel, userId: user.user_id });
  const verified = withContactVerified(user, channel, attempt.destination, deps.clock.now());
  let consumedVersion: number | undefined;
  return {
    user: verified ?? user,
    commit: async () => {
      try {
        await markContactVerified(deps, user.user_id, channel, attempt.destination, request.read);
      } catch (error) {
        await giveBackAttempt(deps, onChannel); // the passcode was right
        throw error;
      }
      consumedVersion = await consumeCode(deps, key, code.id, stored, onChannel);
    },
    release: async () => {
      // Two writes on one record, one after the other: a given-back guess and the channel attempt.
      await giveBackGuess(deps, onCode);
      await giveBackAttempt(deps, onChannel);
    },
    undo: async () => {
      if (consumedVersion === undefined) return;
      await revertOwnWrite<OtpRecord>(deps, key, consumedVersion, (record) => {
        if (record.code?.id !== code.id) return record;
        const { used_at: _used, ...unused } = record.code;
        return { ...record, code: unused };
      });
    },
  };
}

/** A guess counted at the code held by the record `key` at `version` (Store.countGuess). */
interface CodeGuess {
  key: string;
  version: number;
  count: number;
}

/** Gives back a guess at a code that proved right or was never compared; best effort, as giveBackAttempt. */
async function giveBackGuess(deps: Deps, guess: CodeGuess): Promise<void> {
  await deps.store.uncountGuess(guess.key, guess.version).catch((error: unknown) => {
    deps.logger.warn('could not give back a counted guess', { error: error instanceof Error ? error.name : String(error) });
  });
}

/** What a record holding a usable code for `attempt` at `now` meets: the conditions of usableCode, for Store.countGuess. */
function usableWhere(attempt: Omit<Attempt, 'passcodeHash'>, now: number, decoy: boolean): ValueConditions {
  return {
    equal: {
      'code.client_id': attempt.client_id,
      // A decoy stands for a login code to no destination (decoyAsRecord): nothing to compare there.
      ...(!decoy && { 'code.purpose': attempt.purpose, 'code.destination': attempt.destination }),
      ...(attempt.request_id !== undefined && { 'code.request_id': attempt.request_id }),
    },
    absent: ['code.used_at'],
    above: { 'code.expires_at': now },
  };
}

/**
 * The one decision path of a passcode guess, for a user's code and for a
 * decoy alike: no usable code → auth_invalid_credentials, expired →
 * auth_otp_passcode_expired, both uncounted; else ONE conditional write on
 * the code's record counts the guess on the code and on the channel's run
 * kept there, and returns the code (never read apart); when either limit
 * holds it counts nothing and the guess is refused uncompared. Then it is
 * compared. A wrong passcode throws;
 * a right one returns the record as counted, the code and its reservations
 * (a decoy's never is).
 */
async function countAndCompare<V>(
  deps: Deps,
  key: string,
  asRecord: (value: V) => OtpRecord,
  attempt: Attempt,
  on: { subject: string; channel: OtpChannel; userId?: string },
): Promise<{ stored: StoredRecord<V>; code: OtpCode; onCode: CodeGuess; onChannel: Reservation }> {
  const decoy = on.userId === undefined;
  let counted: StoredRecord<V> | undefined;
  let restart: { seen: AttemptCounter | undefined } | undefined;
  let now = deps.clock.now();
  for (let round = 1; !counted; round++) {
    if (round > MAX_COUNT_ROUNDS) throw new ServiceUnavailableError('Too many concurrent attempts; retry'); // not counted, not compared
    now = deps.clock.now();
    counted = await deps.store.countGuess<V>(key, {
      limit: MAX_CODE_ATTEMPTS,
      where: usableWhere(attempt, now, decoy),
      run: {
        limit: CHANNEL_ATTEMPTS.limit,
        lastAfter: now - CHANNEL_ATTEMPTS.idleMs!,
        now,
        startRun: randomId(),
        ...(restart && { restart }),
      },
    });
    if (counted) break;
    // Not counted: read once to say why. Nothing was compared.
    const seen = await deps.store.get<V>(key);
    const code = usableCode(seen && asRecord(seen.value), attempt, now);
    if (code === 'no_code') throw new InvalidCredentialsError();
    if (code === 'expired') throw new OtpExpiredError();
    if ((seen!.guesses ?? 0) >= MAX_CODE_ATTEMPTS) throw codeLockedError();
    const verdict = judgeCounter(seen!.attempts, CHANNEL_ATTEMPTS, now);
    if (verdict.kind === 'locked') throw channelLockedError(verdict.retryAfterMs ?? CHANNEL_LOCK_MS);
    // A lapsed or unlocked run: the next write starts a new one, won by one of any concurrent starters.
    // A live one: the record changed between the write and the read (a resend, another guess); count again.
    restart = verdict.kind === 'restart' ? { seen: seen!.attempts } : undefined;
  }
  const run = counted.attempts!;
  const onCode: CodeGuess = { key, version: counted.version, count: counted.guesses ?? 0 };
  const onChannel: Reservation = { reserved: true, key, run: run.run, count: run.count, reachedLimit: run.count >= CHANNEL_ATTEMPTS.limit };
  const code = usableCode(asRecord(counted.value), attempt, now) as OtpCode; // what the write's condition held at `now`

  if (!constantTimeEqual(code.hash, attempt.passcodeHash)) {
    const error = wrongPasscodeError({ reserved: true, key, run: String(onCode.version), count: onCode.count, reachedLimit: onCode.count >= MAX_CODE_ATTEMPTS }, onChannel);
    const locked = error instanceof LockedError;
    deps.logger.info('otp failure', { user_id: on.userId ?? null, channel: on.channel, locked });
    throw locked && on.userId !== undefined ? await auditLockout(deps, on.userId, error) : error;
  }
  return { stored: counted, code, onCode, onChannel };
}

/**
 * Judges a guess at an identifier naming no reachable user against the decoy
 * its sends left, on the same path as a user's code: the same answers, the
 * same counters, the same reads; it never matches.
 */
async function checkDecoy(deps: Deps, request: { client: ClientRecord; subject: string; channel: OtpChannel; passcode: string; requestId?: string }): Promise<never> {
  const attempt: Attempt = {
    passcodeHash: keyedHash(deps.hashKey, request.passcode),
    purpose: 'login',
    client_id: request.client.client_id,
    destination: '',
    ...(request.requestId !== undefined && { request_id: request.requestId }),
  };
  await countAndCompare<OtpDecoy>(deps, keys.otpDecoy(request.subject, request.channel), decoyAsRecord, attempt, { subject: request.subject, channel: request.channel });
  throw new InvalidCredentialsError(); // unreachable: no passcode hashes to a decoy's hash
}

/**
 * Marks the code `codeId` used with a put on the version read that also gives
 * back the channel attempt `onChannel` (the passcode was right). On a lost
 * race, re-reads: used or replaced meanwhile refuses. Whenever that one write
 * did not give the attempt back (a lost race, a failure), it is given back
 * on its own: the passcode was right, even if a concurrent use of it won.
 */
async function consumeCode(deps: Deps, key: string, codeId: string, read: StoredRecord<OtpRecord>, onChannel: Reservation): Promise<number> {
  let stored: StoredRecord<OtpRecord> | undefined = read;
  // Only the first write carries the give-back: a race means other attempts changed the record.
  let giveBack = onChannel.reserved ? { run: onChannel.run, only: onChannel.count === 1 } : undefined;
  let givenBack = false;
  try {
    for (let tries = 1; ; tries++) {
      const code = stored?.value.code;
      if (!stored || !code || code.id !== codeId || code.used_at !== undefined) throw new InvalidCredentialsError();
      const now = deps.clock.now();
      if (now >= code.expires_at) throw new OtpExpiredError();
      const next: OtpRecord = { ...stored.value, code: { ...code, used_at: now } };
      try {
        const version = await deps.store.put(key, next, { expectVersion: stored.version, expiresAt: otpRecordTtl(next), ...(giveBack && { giveBack }) });
        givenBack = giveBack !== undefined;
        return version;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (tries >= MAX_WRITE_ATTEMPTS) throw new InvalidCredentialsError();
      }
      giveBack = undefined;
      stored = await deps.store.get<OtpRecord>(key);
    }
  } finally {
    if (!givenBack) await giveBackAttempt(deps, onChannel);
  }
}

/** Marks the contact verified (modifyUser: conditional put on the user's version, retried on conflict). */
export async function markContactVerified(deps: Deps, userId: string, channel: OtpChannel, destination: string, read?: StoredRecord<UserRecord>): Promise<void> {
  await modifyUser(deps, userId, (user, now) => withContactVerified(user, channel, destination, now) ?? user, undefined, read);
}

export interface OtpAuthenticateInput {
  passcode: string;
  identifier_type: IdentifierType;
  identifier: string;
  session_id?: string;
  request_id?: string;
  client_attributes?: ClientAttributes;
  /** OIDC `max_age` in seconds: older authentications are left out of this response's `amr`, `amr_at` and `mfa`. */
  max_age?: number;
  claims?: ClaimsRequest;
}

/**
 * `POST /cis/v1/auth/otp/authenticate`. The session (if any) is checked
 * before anything else is judged: a user the session does not belong to,
 * known or not, is session_user_mismatch alike. An unknown or disabled user,
 * or one with no code to use, then gets auth_invalid_credentials.
 */
export async function authenticateOtp(deps: Deps, client: ClientRecord, input: OtpAuthenticateInput): Promise<TokenResponse> {
  const named = channelOfIdentifier(input.identifier_type);
  const known = { client_id: client.client_id, method: named ? AMR_OF_CHANNEL[named] : null, ip: input.client_attributes?.ip_address ?? null };
  return audited(deps, 'authentication', known, () => checkAndAuthenticateOtp(deps, client, input));
}

async function checkAndAuthenticateOtp(deps: Deps, client: ClientRecord, input: OtpAuthenticateInput): Promise<TokenResponse> {
  // The session a login joins is named up front: read with the identifier's claim, in one request.
  const { user: read, sessionRead } = await findUserJoining(deps, input.identifier_type, input.identifier, input.session_id);
  const found = read?.value;
  const user = found?.status === 'Active' ? found : undefined;
  // Where no user can receive codes on a channel (none named, disabled, or without that contact), sends left a
  // decoy for what was submitted instead: guesses there are judged against it, as a user's against their code.
  const subject = unknownSubject(input.identifier_type, input.identifier);
  const real = (on: OtpChannel) => reachableOn(user, on);
  let channel = channelOfIdentifier(input.identifier_type);
  if (!channel) {
    const read = async (on: OtpChannel): Promise<OtpRecord | undefined> => {
      if (real(on)) return (await deps.store.get<OtpRecord>(keys.otp(user!.user_id, on)))?.value;
      const decoy = await deps.store.get<OtpDecoy>(keys.otpDecoy(subject, on));
      return decoy && decoyAsRecord(decoy.value);
    };
    const [email, sms] = await Promise.all([read('email'), read('sms')]);
    channel = pickChannel({ email, sms }, client.client_id, input.request_id, deps.clock.now());
  }
  const otpChannel = channel;
  return authenticate(
    deps,
    {
      client,
      // An unknown user cannot match any session: with a session_id it is session_user_mismatch, as for any other user.
      userId: found?.user_id ?? '',
      user: found,
      // Without a channel the check below refuses, so the method is never recorded.
      method: AMR_OF_CHANNEL[otpChannel ?? 'email'],
      ...(input.session_id !== undefined && { sessionId: input.session_id, sessionRead }),
      ...(input.client_attributes !== undefined && { clientAttributes: input.client_attributes }),
      maxAge: input.max_age,
      ...(input.claims !== undefined && { claims: input.claims }),
    },
    async () => {
      if (!otpChannel) {
        keyedHash(deps.hashKey, input.passcode); // keep the no-code path about as costly
        throw new InvalidCredentialsError();
      }
      if (!real(otpChannel)) {
        return checkDecoy(deps, {
          client,
          subject,
          channel: otpChannel,
          passcode: input.passcode,
          ...(input.request_id !== undefined && { requestId: input.request_id }),
        });
      }
      return checkCode(deps, {
        client,
        user: user!,
        channel: otpChannel,
        purpose: 'login',
        passcode: input.passcode,
        ...(input.request_id !== undefined && { requestId: input.request_id }),
        read,
      });
    },
  );
}
