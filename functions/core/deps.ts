import type { SealKeyring } from './crypto.js';
import type { Audit, Clock, DeliveryQueue, Logger, Mailer, Signer, SmsSender, Store } from '../ports.js';

/** Service-wide settings the core needs (per-client settings live on the client record). */
export interface CoreSettings {
  /** `iss` of every token, e.g. `http://127.0.0.1:3000` or the API URL. */
  issuer: string;
  /** Name substituted for `{app}` in SMS texts and shown in emails. */
  appName: string;
  /** Lifetime of access, ID and client tokens. */
  tokenTtlSeconds: number;
  /** scrypt cost parameters for new password hashes (existing hashes carry their own). */
  scrypt: { N: number; r: number; p: number };
  /** CloudWatch namespace of the embedded metrics (core/metrics.ts). @default 'Twofold' */
  metricsNamespace?: string;
}

/** Everything the core depends on, wired once per cold start. */
export interface Deps {
  store: Store;
  /** Where sends put their deliveries (core/delivery.ts); only the delivery sender uses the mailer and the SMS sender. */
  queue: DeliveryQueue;
  mailer: Mailer;
  sms: SmsSender;
  signer: Signer;
  clock: Clock;
  logger: Logger;
  /** Audit events (core/audit.ts): a failure to record one is logged, never answered. */
  audit: Audit;
  settings: CoreSettings;
  /** Key for the keyed hashes of OTPs and link codes. */
  hashKey: Uint8Array;
  /** Versioned keys that seal TOTP seeds (core/totp-seal.ts); independent of the hash key. */
  totpKeys: SealKeyring;
  /** Versioned keys of the user access tokens' MAC (core/user-access-tokens.ts): the current one mints, every one verifies. */
  userTokenKeys: SealKeyring;
}

/** The audience of client access tokens: the API itself. */
export function apiAudience(settings: CoreSettings): string {
  return `${settings.issuer}/cis`;
}
