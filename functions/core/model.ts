/**
 * The records the core keeps in the Store, and their keys. Keys are logical
 * strings; the storage adapter decides how they map onto a table.
 */

/** `amr` values of the authentication methods (contract section 6). */
export type AuthMethod = 'pwd' | 'eotp' | 'eml' | 'sms' | 'otp' | 'webauthn' | 'recovery_code';

export type MfaPolicy = 'factor_classes' | 'distinct_methods';

export interface ClientRecord {
  client_id: string;
  name: string;
  /** SHA-256 of the secret: client secrets are 256 random bits, so a fast hash suffices. */
  secret_hash: string;
  redirect_uris: string[];
  mfa_policy: MfaPolicy;
  session_idle_timeout_seconds: number;
  session_absolute_lifetime_seconds: number;
  bind_sessions_to_ip: boolean;
  allow_direct_delivery: boolean;
  reveal_unknown_users: boolean;
  /** Real email OTP and link deliveries allowed per hour for the whole client (sends to unknown users do not count). */
  send_budget_per_hour: number;
  /** Real SMS deliveries allowed per hour for the whole client, counted apart from email; unset on older clients: the default. */
  sms_budget_per_hour?: number;
  /** ISO 3166 alpha-2 countries SMS may go to (core/sms-countries.ts); unset: every country. */
  sms_countries?: string[];
  /** How long a just-rotated refresh token is refused without ending the session (a double submit); 0: reuse ends it at once. */
  refresh_reuse_grace_seconds: number;
  /**
   * Adding a factor needs MFA proved within this many seconds (core/factor-enrolment.ts);
   * absent on clients created before it existed: the default, 900.
   */
  enrolment_max_age_seconds?: number;
  created_at: number;
  /** Passkeys: the relying-party ID (a domain, no scheme or port); unset = passkeys off for this client. */
  webauthn_rp_id?: string;
  /** Shown by the authenticator when a passkey is created; defaults to the client name. */
  webauthn_rp_name?: string;
  /** Origins the browser may report in a ceremony, matched exactly (`https://shop.example`). */
  webauthn_origins?: string[];
  /** `required` (default): the authenticator must verify the user (PIN, biometrics). */
  webauthn_user_verification?: 'required' | 'preferred';
}

export interface PasswordRecord {
  /** Self-describing hash string: `scrypt$N$r$p$salt$hash`. */
  hash: string;
  updated_at: number;
}

export interface TotpRecord {
  /** The authenticator's id in the authenticators list; absent on ones registered before it existed (listed as `totp`). */
  id?: string;
  /** The seed, sealed under a version of the TOTP keyring that it names (core/totp-seal.ts). */
  sealed_secret: string;
  created_at: number;
  /**
   * The last accepted time step; a code is accepted once per step. Unset
   * while the authenticator is pending (no code from it accepted yet).
   */
  last_used_step?: number;
}

export interface UserRecord {
  user_id: string;
  email?: string;
  email_verified: boolean;
  email_verified_at?: number;
  phone_number?: string;
  phone_number_verified: boolean;
  phone_number_verified_at?: number;
  username?: string;
  /** The upstream name object. */
  name?: { title?: string; first_name?: string; last_name?: string; middle_name?: string };
  status: 'Active' | 'Disabled';
  /** When `status` last changed (ms); absent until it first does. */
  status_changed_at?: number;
  created_at: number;
  updated_at: number;
  password?: PasswordRecord;
  totp?: TotpRecord;
  /** Sessions created before this instant (ms) are ended: how users written before `credential_version` were stamped. */
  sessions_valid_after?: number;
  /**
   * Moves on by one at every credential change (password replaced, user
   * disabled or enabled, factor removed, every session logged out): a
   * session proved under an earlier version is over (core/credential-changes.ts).
   * Absent: 0.
   */
  credential_version?: number;
  /** Registered passkeys; each id is also claimed by a `webauthn#<id>` record. */
  webauthn_credentials?: WebAuthnCredentialRecord[];
}

export interface WebAuthnCredentialRecord {
  /** base64url credential ID, as the browser reports it. */
  id: string;
  /** SPKI DER public key, base64url, and its algorithm. */
  public_key: string;
  algorithm: 'ES256' | 'RS256';
  /** The last signature counter seen; 0 for authenticators that keep none. */
  counter: number;
  transports: string[];
  /** Backup eligibility (a synced passkey) and backup state at the last ceremony. */
  backup_eligible: boolean;
  backed_up: boolean;
  aaguid: string;
  /** A name for the passkey (the authenticator model when known). */
  name: string;
  /** The user account's display name given at registration. */
  display_name?: string;
  created_at: number;
  last_used_at?: number;
}

export interface SessionAuthentication {
  method: AuthMethod;
  /** ms since the epoch */
  at: number;
}

export interface SessionRecord {
  session_id: string;
  client_id: string;
  user_id: string;
  authentications: SessionAuthentication[];
  created_at: number;
  last_active_at: number;
  idle_timeout_seconds: number;
  absolute_lifetime_seconds: number;
  /** Set when the session is bound to the end user's IP. */
  bound_ip?: string;
  /** The end user's IP the session was created from, when the caller passed it (bound or not): for listings. */
  ip_address?: string;
  ended_at?: number;
  end_reason?: 'logout' | 'refresh_token_reuse' | 'user_deleted';
  /** The session's refresh tokens (core/refresh-tokens.ts); absent only on sessions written before generations. */
  refresh?: RefreshLineage;
  /**
   * The user's `credential_version` when the session was proved (absent: 0).
   * A session is live only while it is still the user's current one
   * (core/credential-changes.ts).
   */
  credential_version?: number;
  /** Sessions written before generations: hashes of their refresh tokens that still work (never added to now). */
  refresh_token_hashes?: string[];
  /** Sessions written before generations: hashes of rotated refresh tokens; presenting one ends the session. */
  retired_refresh_token_hashes?: string[];
  /** Sessions written before generations: the latest rotation of one of their tokens, to tell a double submit from reuse. */
  last_rotation?: { hash: string; at: number };
}

/**
 * A session's one lineage of refresh tokens: the token of generation `g` is
 * `<session_id>.<g>.<keyed hash of session id, nonce and g>`. Only the
 * current generation refreshes; an earlier one is reuse.
 */
export interface RefreshLineage {
  /** 128 random bits, so a token names its session's lineage and no other. */
  nonce: string;
  generation: number;
  /** When the generation last moved on (ms): a double submit within the client's grace is forgiven. */
  rotated_at?: number;
}

/** A lookup record that claims a unique contact or username for a user. */
export interface ClaimRecord {
  user_id: string;
  created_at: number;
  /**
   * Contact claims only: the user's status, stamped after a write of the
   * user that holds this contact left them Active, and removed before any
   * write that disables the user or gives the contact up (core/users.ts). A
   * claim without it (older ones too) says nothing: read the user.
   */
  status?: 'Active';
}

export const keys = {
  client: (clientId: string) => `client#${clientId}`,
  user: (userId: string) => `user#${userId}`,
  emailClaim: (email: string) => `email#${email}`,
  phoneClaim: (phone: string) => `phone#${phone}`,
  usernameClaim: (username: string) => `username#${username}`,
  session: (sessionId: string) => `session#${sessionId}`,
  /** Not a record: the owner (Store.keysOwnedBy) under which a client's sessions of a user are listed. */
  sessionsOf: (userId: string, clientId: string) => `sessions-of#${userId}#${clientId}`,
  otp: (userId: string, channel: string) => `otp#${userId}#${channel}`,
  /** What an OTP send to an identifier naming no reachable user leaves behind (core/otp.ts OtpDecoy); subject: unknownSubject(). */
  otpDecoy: (subject: string, channel: string) => `otp-decoy#${subject}#${channel}`,
  magicLink: (codeHash: string) => `link#${codeHash}`,
  /** Send log of a real destination (keyed hash of the contact): no longer written (the log is kept on the code record, otp#); old ones expire by TTL. */
  sendRate: (destinationHash: string) => `rate#dest#${destinationHash}`,
  /** Send log of what callers submitted (keyed hash of channel, identifier type and identifier). */
  sendRequestRate: (requestHash: string) => `rate#req#${requestHash}`,
  /** Email (codes and links) keeps the key it always had; SMS counts apart. */
  sendBudget: (clientId: string, window: number, channel: 'email' | 'sms' = 'email') => (channel === 'sms' ? `rate#client#${clientId}#sms#${window}` : `rate#client#${clientId}#${window}`),
  recoveryCodes: (userId: string) => `recovery#codes#${userId}`,
  /** Recovery-code guesses of one account (a user id, or a stand-in for an unknown identifier): a guess counter. */
  recoveryGuesses: (account: string) => `attempts#recovery#${account}`,
  webauthnCredential: (credentialId: string) => `webauthn#${credentialId}`,
  webauthnChallenge: (challengeHash: string) => `webauthn-challenge#${challengeHash}`,
  /** Guess counters (core/attempts.ts); a subject is a user id, or unknownSubject() for an identifier naming no one. */
  totpAttempts: (subject: string) => `attempts#totp#${subject}`,
  passwordAttempts: (subject: string) => `attempts#pwd#${subject}`,
} as const;

/** Contacts are matched case-insensitively: stored trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

export function toEpochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
