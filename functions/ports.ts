/**
 * The interfaces the core depends on. Each outside service has one port with
 * an AWS adapter (functions/adapters/aws) and a local one
 * (functions/adapters/local). The core never imports an AWS SDK.
 */
import type { JWK } from 'jose';

/** A record as stored, with the version used for optimistic concurrency. */
export interface StoredRecord<T> {
  value: T;
  version: number;
  /** Guesses counted at the secret the record holds (Store.countGuess); absent when none. */
  guesses?: number;
  /** The run of attempts counted on the record itself (Store.countGuess `run`), if any. */
  attempts?: AttemptCounter;
}

/**
 * A run of attempts (core/attempts.ts) kept on a record, counted by the same
 * write as the guess at its secret: a new secret (overwrite) keeps it.
 */
export interface GuessRunOptions {
  /** Counts only while the run holds fewer attempts than this. */
  limit: number;
  /** When given, counts only while the latest attempt is later than this (ms). */
  lastAfter?: number;
  /** The attempt's time (ms), stored as the latest. */
  now: number;
  /** A record with no run yet starts run `startRun` with this attempt. */
  startRun: string;
  /** Instead of counting on the current run: replaces exactly `seen` (undefined: none) with run `startRun` holding this one attempt. */
  restart?: { seen: AttemptCounter | undefined };
}

/** Conditions on a versioned record's value, each field named by its dotted path (`code.client_id`). */
export interface ValueConditions {
  /** Fields that must hold exactly these values. */
  equal?: Record<string, string | number>;
  /** Fields that must be absent. */
  absent?: string[];
  /** Fields that must hold a number greater than these. */
  above?: Record<string, number>;
}

export interface PutOptions {
  /**
   * `null`: the record must not exist yet. A number: the stored record must
   * still have that version. A lost condition throws ConflictError.
   */
  expectVersion: number | null;
  /** Epoch seconds after which the table's TTL may delete the record. */
  expiresAt?: number;
  /**
   * Lists the record under this owner (Store.keysOwnedBy) from now on; a
   * later put that names no owner keeps the one it has.
   */
  owner?: string;
  /** Ends the run kept on the record (Store.countGuess `run`): a changed secret starts afresh. */
  endRun?: boolean;
  /**
   * Also takes back one attempt of the run kept on the record (Store.countGuess
   * `run`), in the same write: only while it is still run `run`; `only`: it
   * holds just that one attempt, and the run ends instead (as if it never
   * began: the next attempt starts a new one with one write). Either condition
   * lost throws ConflictError, as a lost version does.
   */
  giveBack?: { run: string; only: boolean };
}

/**
 * A guess counter: the attempts counted in its current run (see
 * core/attempts.ts for what a run is). Kept apart from versioned records so
 * that counting never contends with, or is lost to, their conditional puts.
 */
export interface AttemptCounter {
  /** Identifies the run; a restart begins a new one. */
  run: string;
  count: number;
  /** Milliseconds since the epoch of the latest counted attempt. */
  last_at: number;
}

export interface CountAttemptOptions {
  /** Counts only while the counter holds fewer attempts than this. */
  limit: number;
  /** When given, counts only while the latest attempt is later than this (ms). */
  lastAfter?: number;
  /** The attempt's time (ms), stored as the latest. */
  now: number;
  /** Epoch seconds after which the table's TTL may delete the counter. */
  expiresAt: number;
  /**
   * When given, a counter that does not exist is started by this very write,
   * as run `startRun` holding this one attempt: counting on a fresh counter
   * then costs one write, not a failed write, a read and a put.
   */
  startRun?: string;
}

/** A sliding log of send times (ms) at one key, with the version its writes advance. */
export interface SendLog {
  times: number[];
  version: number;
}

/**
 * A sliding log of sends kept on a versioned record beside its value, with
 * a version of its own (Store.overwrite `log`, Store.logSendOnRecord):
 * either appended to while the latest logged send is at or before
 * `lastAtOrBefore` and the log holds fewer than `maxEntries` times (or there
 * is no log yet), or replaced by `times` and `now` while the log is still at
 * version `seen` (0: no log).
 */
export type RecordSendLog = { now: number } & ({ lastAtOrBefore: number; maxEntries: number } | { seen: number; times: number[] });

/**
 * A key-value store of versioned records. Every write is one conditional
 * single-item write (no transactions): races are settled by the version
 * condition. Reads are strongly consistent.
 */
export interface Store {
  get<T>(key: string): Promise<StoredRecord<T> | undefined>;
  /**
   * Reads several records in ONE request, each as `get` reads it (strongly
   * consistent), and all of them or fails: the records found, by key; a key
   * with no record is absent from the map. For a call that knows up front
   * every record it will read first.
   */
  getMany(keys: readonly string[]): Promise<Map<string, StoredRecord<unknown>>>;
  /**
   * Keys of the records put with `owner` (PutOptions.owner), at most `limit`,
   * in no particular order. An index, not a read: it may trail a write by a
   * moment (eventually consistent) and still list a deleted record, so read
   * the records (getMany) and judge them.
   */
  keysOwnedBy(owner: string, limit: number): Promise<string[]>;
  /** Writes the record and returns its new version. */
  put<T>(key: string, value: T, options: PutOptions): Promise<number>;
  /**
   * Writes the record whatever it holds, with no read first, and returns its
   * new version: one more than the stored one, so a concurrent put on the
   * old version loses. For records a write replaces wholesale (a new code):
   * the guesses counted at the old secret are dropped with it. (A `put`
   * keeps them: it changes the record, not its secret.) With `log`, the same
   * write appends to (or replaces) the send log kept on the record, and only
   * under the log's conditions: a lost one writes nothing and throws
   * ConflictError.
   */
  overwrite<T>(key: string, value: T, options?: { expiresAt?: number; log?: RecordSendLog }): Promise<number>;
  /**
   * Counts one guess at the secret the versioned record `key` holds, on the
   * record itself, with ONE atomic conditional write that leaves its version
   * as it is: only while the record exists, has fewer than `limit` guesses
   * counted (no `limit`: the run alone counts) and its value meets `where`; with `run`, the same write counts
   * the attempt on the run kept on the record, under the run's own limits
   * (a lost run condition counts nothing either). Returns the record as written (with
   * `guesses`), or undefined when a condition failed and nothing was written.
   * Concurrent calls are serialised by the store, never lost.
   */
  countGuess<T>(key: string, options: { limit?: number; where?: ValueConditions; run?: GuessRunOptions }): Promise<StoredRecord<T> | undefined>;
  /** Takes one counted guess back, only while the record is still at `version` (the same secret) and has one. */
  uncountGuess(key: string, version: number): Promise<void>;
  /** Deletes; with `expectVersion`, only if the record still has that version. */
  delete(key: string, options?: { expectVersion?: number }): Promise<void>;
  /**
   * Atomically adds `by` to a counter record and returns the new total. With
   * `below`, adds only while the total is below it (a missing counter is 0);
   * with `above`, only while it is above it (a missing counter is 0: nothing
   * is added); otherwise adds nothing and throws ConflictError.
   */
  increment(key: string, by: number, options?: { expiresAt?: number; below?: number; above?: number }): Promise<number>;

  /**
   * Counts one attempt on an existing counter with ONE atomic conditional
   * write (no read first): only while it holds fewer than `limit` attempts
   * and, with `lastAfter`, its latest attempt is later than that. Returns the
   * counter as written, or undefined when a condition failed and nothing was
   * written. Concurrent calls are serialised by the store, never lost.
   */
  countAttempt(key: string, options: CountAttemptOptions): Promise<AttemptCounter | undefined>;
  /** The counter as stored, however old: the core judges its age from `last_at`, never from the TTL. */
  getAttempts(key: string): Promise<AttemptCounter | undefined>;
  /** Replaces the counter with `next` only if it is still exactly `seen` (undefined: absent); false if it changed. */
  restartAttempts(key: string, seen: AttemptCounter | undefined, next: AttemptCounter, expiresAt: number): Promise<boolean>;
  /**
   * Takes one attempt back, only while the counter is still in run `run` and
   * above zero. `all`, for a run kept on a record (Store.countGuess `run`):
   * takes every attempt back instead, ending the run; the record stays.
   */
  uncountAttempt(key: string, run: string, options?: { all?: boolean }): Promise<void>;

  /**
   * Writes only the send log kept on the record `key` (RecordSendLog; the
   * value, its version, guesses and run stay as they are), creating the
   * record if there is none, with one conditional write; a lost condition
   * writes nothing and throws ConflictError. Sets the record's TTL to
   * `expiresAt`: the caller passes one no earlier than any other write to
   * the record sets, so the log never shortens the record's life, nor the
   * record the log's. The one send-log mechanism: a destination's log lives
   * on its code record, a submitted identifier's on a record of its own.
   */
  logSendOnRecord(key: string, log: RecordSendLog, expiresAt: number): Promise<void>;
  /**
   * The send log kept on the record `key` (version 0 and no times: none).
   * A log in the layout of standalone logs written before the logs were
   * unified (times without a log version) is read as version 0, so the next
   * write replaces it, judged on its times.
   */
  getRecordSendLog(key: string): Promise<SendLog>;
}

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The secret the message carries; the local outbox shows it, AWS adapters ignore it. */
  code?: string;
  link?: string;
}

export interface Mailer {
  sendEmail(message: EmailMessage): Promise<void>;
}

export interface SmsMessage {
  /** E.164 */
  to: string;
  text: string;
  code?: string;
}

export interface SmsSender {
  sendSms(message: SmsMessage): Promise<void>;
}

/**
 * The queue between a send and its delivery (core/delivery.ts): a send puts
 * one sealed message on it and answers; the delivery sender takes it off and
 * delivers through the Mailer or the SmsSender. `enqueue` resolves once the
 * queue holds the message, and throws DependencyError when it could not.
 */
export interface DeliveryQueue {
  enqueue(body: string): Promise<void>;
}

/** Signs JWS ES256 signing inputs with the service key. */
export interface Signer {
  /** The `kid` of the key that `sign` uses (RFC 7638 thumbprint). */
  currentKeyId(): Promise<string>;
  /** Returns the 64-byte JOSE `r||s` signature over the SHA-256 of `signingInput`. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
  /** Public keys to publish: the current one and any previous one still in use. */
  publicKeys(): Promise<JWK[]>;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * One security-relevant outcome, for a SIEM (docs/audit.md): who (`user_id`,
 * `client_id`, `ip`), what (`event`, `method`), how it ended (`outcome`:
 * `success` or the error code the caller got) and when (`at`, ISO 8601 UTC).
 * Never a secret, never a contact.
 */
export interface AuditEvent {
  event:
    | 'authentication'
    | 'verification'
    | 'lockout'
    | 'logout'
    | 'sessions_listed'
    | 'refresh_token_reuse'
    | 'user_disabled'
    | 'user_deleted'
    | 'client_authentication'
    | 'recovery_codes_generated'
    | 'recovery_code_used'
    | 'recovery_codes_exhausted'
    | 'factor_enrolment'
    | 'factor_removal'
    | 'delivery';
  user_id: string | null;
  client_id: string | null;
  method: string | null;
  ip: string | null;
  outcome: string;
  /** Factor enrolments: the `amr` of the session that asked (every authentication in it, as the client's policy reads them). */
  amr?: string[];
  /** A successful `authentication`: whether the tokens it answered with say MFA (`amr` holds `mfa`). */
  mfa?: boolean;
  at: string;
}

/** Where audit events go: the log everywhere, and EventBridge in AWS when enabled. */
export interface Audit {
  record(event: AuditEvent): Promise<void>;
}
