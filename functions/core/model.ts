/**
 * The records the core keeps in the Store, and their keys. Keys are logical
 * strings; the storage adapter decides how they map onto a table.
 */

/** `amr` values of the authentication methods (contract section 6). */
export type AuthMethod = 'pwd' | 'eotp' | 'eml' | 'sms' | 'otp';

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
  /** OTP and link sends allowed per hour for the whole client. */
  send_budget_per_hour: number;
  created_at: number;
}

export interface PasswordRecord {
  /** Self-describing hash string: `scrypt$N$r$p$salt$hash`. */
  hash: string;
  updated_at: number;
}

export interface TotpRecord {
  /** The seed, sealed under a version of the TOTP keyring that it names (core/totp-seal.ts). */
  sealed_secret: string;
  created_at: number;
  /** The last accepted time step; a code is accepted once per step. */
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
  /** A display name, or the upstream name object. */
  name?: string | { title?: string; first_name?: string; last_name?: string; middle_name?: string };
  status: 'Active' | 'Disabled';
  created_at: number;
  updated_at: number;
  password?: PasswordRecord;
  /** Consecutive password failures, and the lock they may have set. */
  password_failures: number;
  password_locked_until?: number;
  totp?: TotpRecord;
  /** Times (ms) of TOTP failures in the current window, and the lock they may have set; kept across re-registration. */
  totp_failed_at?: number[];
  totp_locked_until?: number;
  /** Sessions created before this instant (ms) are ended (password replaced, logout-all). */
  sessions_valid_after?: number;
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
  ended_at?: number;
  end_reason?: 'logout' | 'refresh_token_reuse' | 'user_deleted';
  /** Hashes of the refresh tokens that still work. */
  refresh_token_hashes: string[];
  /** Hashes of rotated refresh tokens: presenting one ends the session. */
  retired_refresh_token_hashes: string[];
  /** The latest rotation, to tell a concurrent double submit from reuse. */
  last_rotation?: { hash: string; at: number };
}

/** A lookup record that claims a unique contact or username for a user. */
export interface ClaimRecord {
  user_id: string;
  created_at: number;
}

export const keys = {
  client: (clientId: string) => `client#${clientId}`,
  user: (userId: string) => `user#${userId}`,
  emailClaim: (email: string) => `email#${email}`,
  phoneClaim: (phone: string) => `phone#${phone}`,
  usernameClaim: (username: string) => `username#${username}`,
  session: (sessionId: string) => `session#${sessionId}`,
  otp: (userId: string, channel: string) => `otp#${userId}#${channel}`,
  magicLink: (codeHash: string) => `link#${codeHash}`,
  sendRate: (destinationHash: string) => `rate#dest#${destinationHash}`,
  sendBudget: (clientId: string, window: number) => `rate#client#${clientId}#${window}`,
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
