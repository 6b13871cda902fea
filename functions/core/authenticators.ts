/**
 * `GET /cis/v1/users/{user_id}/authenticators` (contract section 10): every
 * factor the user holds, in the shape of Transmit's "user authenticators"
 * list: `id`, `type`, `name`, `status` (`Registered` until first used to
 * authenticate, then `Active`), `user_id`, `registered_at`, `extra_data`;
 * plus the contract's `created_at` and `last_used_at` (both ISO 8601).
 * Never a secret: no TOTP seed, public key or code hash.
 */
import { UserNotFoundError } from '../errors.js';
import type { Deps } from './deps.js';
import { keys, type UserRecord } from './model.js';
import type { RecoveryCodeSet } from './recovery-codes.js';
import { isTotpActive, TOTP_PERIOD_SECONDS } from './totp.js';
import { totpAuthenticatorId } from './factor-removal.js';

export type AuthenticatorType = 'password' | 'email_otp' | 'email_magic_link' | 'sms_otp' | 'totp' | 'webauthn' | 'recovery_codes';

export interface AuthenticatorView {
  id: string;
  type: AuthenticatorType;
  name?: string;
  status: 'Active' | 'Registered';
  user_id: string;
  created_at: string;
  /** Transmit's name for `created_at`. */
  registered_at: string;
  last_used_at?: string;
  extra_data?: Record<string, string | number | boolean>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function view(user: UserRecord, fields: Omit<AuthenticatorView, 'user_id' | 'created_at' | 'registered_at'>, createdAt: number): AuthenticatorView {
  return { ...fields, user_id: user.user_id, created_at: iso(createdAt), registered_at: iso(createdAt) };
}

/** The authenticators of `user`, given its recovery code set (if any). */
export function authenticatorsOf(user: UserRecord, recovery: RecoveryCodeSet | undefined): AuthenticatorView[] {
  const list: AuthenticatorView[] = [];
  if (user.password) list.push(view(user, { id: 'password', type: 'password', status: 'Active' }, user.password.updated_at));
  if (user.email !== undefined && user.email_verified) {
    const extra_data = { email: user.email, verified: true, ...(user.email_verified_at !== undefined && { verified_at: iso(user.email_verified_at) }) };
    const since = user.email_verified_at ?? user.created_at;
    list.push(view(user, { id: 'email_otp', type: 'email_otp', status: 'Active', extra_data }, since));
    list.push(view(user, { id: 'email_magic_link', type: 'email_magic_link', status: 'Active', extra_data }, since));
  }
  if (user.phone_number !== undefined && user.phone_number_verified) {
    const extra_data = { phone_number: user.phone_number, verified: true, ...(user.phone_number_verified_at !== undefined && { verified_at: iso(user.phone_number_verified_at) }) };
    list.push(view(user, { id: 'sms_otp', type: 'sms_otp', status: 'Active', extra_data }, user.phone_number_verified_at ?? user.created_at));
  }
  if (user.totp) {
    const step = user.totp.last_used_step;
    list.push(
      view(
        user,
        {
          id: totpAuthenticatorId(user)!,
          type: 'totp',
          name: 'Authenticator app',
          status: isTotpActive(user.totp) ? 'Active' : 'Registered',
          // The start of the last accepted time step: when its code was last used, to the step.
          ...(step !== undefined && { last_used_at: iso(step * TOTP_PERIOD_SECONDS * 1000) }),
        },
        user.totp.created_at,
      ),
    );
  }
  for (const passkey of user.webauthn_credentials ?? []) {
    list.push(
      view(
        user,
        {
          id: passkey.id,
          type: 'webauthn',
          name: passkey.name,
          status: passkey.last_used_at === undefined ? 'Registered' : 'Active',
          ...(passkey.last_used_at !== undefined && { last_used_at: iso(passkey.last_used_at) }),
          extra_data: { aaguid: passkey.aaguid, passkey_type: passkey.backup_eligible ? 'synced' : 'device_bound' },
        },
        passkey.created_at,
      ),
    );
  }
  const remaining = recovery?.codes.filter((c) => c.used_at === undefined).length ?? 0;
  if (recovery && remaining > 0) {
    const used = recovery.codes.map((c) => c.used_at).filter((at): at is number => at !== undefined);
    list.push(
      view(
        user,
        {
          id: 'recovery_codes',
          type: 'recovery_codes',
          name: 'Recovery codes',
          status: 'Active',
          ...(used.length > 0 && { last_used_at: iso(Math.max(...used)) }),
          extra_data: { remaining, total: recovery.codes.length },
        },
        recovery.created_at,
      ),
    );
  }
  return list;
}

/** `GET /cis/v1/users/{user_id}/authenticators`: the user and its recovery codes, read in one request. */
export async function listAuthenticators(deps: Pick<Deps, 'store'>, userId: string): Promise<AuthenticatorView[]> {
  const userKey = keys.user(userId);
  const codesKey = keys.recoveryCodes(userId);
  const found = await deps.store.getMany([userKey, codesKey]);
  const user = found.get(userKey)?.value as UserRecord | undefined;
  if (!user) throw new UserNotFoundError();
  return authenticatorsOf(user, found.get(codesKey)?.value as RecoveryCodeSet | undefined);
}
