/**
 * Users (contract section 3). Users are shared by all clients of a
 * deployment; contacts and usernames are unique, claimed by lookup records
 * (`email#…`, `phone#…`, `username#…`) written with attribute_not_exists.
 */
import { InvalidInputError } from '../errors.js';
import type { Deps } from './deps.js';
import { keys, normalizeEmail, normalizeUsername, type ClaimRecord, type UserRecord } from './model.js';

export type IdentifierType = 'email' | 'phone_number' | 'user_id' | 'username';

/** The public view of a user: never a password hash, TOTP secret or counter. */
export function toUserView(user: UserRecord) {
  return {
    user_id: user.user_id,
    ...(user.email !== undefined && {
      email: { value: user.email, email_verified: user.email_verified, ...(user.email_verified_at !== undefined && { verified_at: user.email_verified_at }) },
    }),
    ...(user.phone_number !== undefined && {
      phone_number: {
        value: user.phone_number,
        phone_number_verified: user.phone_number_verified,
        ...(user.phone_number_verified_at !== undefined && { verified_at: user.phone_number_verified_at }),
      },
    }),
    ...(user.username !== undefined && { username: user.username }),
    ...(user.name !== undefined && { name: user.name }),
    status: user.status,
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** The claim key an identifier resolves through, or the user key itself for user_id. */
function lookupKey(type: IdentifierType, identifier: string): string {
  switch (type) {
    case 'user_id':
      return keys.user(identifier);
    case 'email':
      return keys.emailClaim(normalizeEmail(identifier));
    case 'phone_number': {
      const phone = identifier.trim();
      if (!E164.test(phone)) throw new InvalidInputError('identifier: must be an E.164 phone number such as +15551234567');
      return keys.phoneClaim(phone);
    }
    case 'username':
      return keys.usernameClaim(normalizeUsername(identifier));
  }
}

/**
 * Finds a user by any identifier; `undefined` when there is none. A claim
 * whose user no longer exists or no longer holds that contact is ignored.
 */
export async function findUser(deps: Pick<Deps, 'store'>, type: IdentifierType, identifier: string) {
  if (type === 'user_id') return deps.store.get<UserRecord>(keys.user(identifier));
  const claim = await deps.store.get<ClaimRecord>(lookupKey(type, identifier));
  if (!claim) return undefined;
  const user = await deps.store.get<UserRecord>(keys.user(claim.value.user_id));
  if (!user) return undefined;
  const holds =
    (type === 'email' && user.value.email === normalizeEmail(identifier)) ||
    (type === 'phone_number' && user.value.phone_number === identifier.trim()) ||
    (type === 'username' && user.value.username !== undefined && normalizeUsername(user.value.username) === normalizeUsername(identifier));
  return holds ? user : undefined;
}
