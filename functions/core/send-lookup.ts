/**
 * Finding whom a send goes to, with the same requests whether or not the
 * identifier names anyone: a send answers without waiting for its delivery,
 * so its time is its requests, and one request fewer for an unknown name
 * would tell it apart.
 */
import type { Deps } from './deps.js';
import { keys, type UserRecord } from './model.js';
import { claimedUserId, findContactHolder, holdsIdentifier, type ContactHolder, type IdentifierType } from './users.js';

/** A user key no user ever has (user ids are never empty): read where no claim names a user. */
const NO_USER = keys.user('');

/**
 * The user `identifier` names, read as findUser reads it, but a name no
 * claim holds still reads a user record (one that cannot exist), as a held
 * name reads its user: two requests either way (one for a user_id).
 */
export async function findUserEvenly(deps: Pick<Deps, 'store'>, type: IdentifierType, identifier: string): Promise<UserRecord | undefined> {
  if (type === 'user_id') return (await deps.store.get<UserRecord>(keys.user(identifier)))?.value;
  const userId = await claimedUserId(deps, type, identifier);
  const user = await deps.store.get<UserRecord>(userId === undefined ? NO_USER : keys.user(userId));
  return userId !== undefined && user && holdsIdentifier(user.value, type, identifier) ? user.value : undefined;
}

/**
 * Whom a send on a channel reaches: by the channel's own contact, its claim
 * stands for the user (one request, known or not; findContactHolder); by any
 * other name, findUserEvenly.
 */
export async function findSendTarget(
  deps: Pick<Deps, 'store'>,
  type: IdentifierType,
  identifier: string,
  byOwnContact: boolean,
): Promise<ContactHolder | undefined> {
  if (byOwnContact) return findContactHolder(deps, type as 'email' | 'phone_number', identifier);
  return findUserEvenly(deps, type, identifier);
}
