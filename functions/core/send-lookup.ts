/**
 * Finding whom a send goes to, with the same requests whether or not the
 * identifier names anyone: a send answers without waiting for its delivery,
 * so its time is its requests, and one request fewer for an unknown name
 * would tell it apart.
 */
import type { Deps } from './deps.js';
import { findContactHolder, findUser, type ContactHolder, type IdentifierType } from './users.js';

/**
 * Whom a send on a channel reaches: by the channel's own contact, its claim
 * stands for the user (one request, known or not; findContactHolder); by any
 * other name, findUser (two requests, known or not).
 */
export async function findSendTarget(
  deps: Pick<Deps, 'store'>,
  type: IdentifierType,
  identifier: string,
  byOwnContact: boolean,
): Promise<ContactHolder | undefined> {
  if (byOwnContact) return findContactHolder(deps, type as 'email' | 'phone_number', identifier);
  return (await findUser(deps, type, identifier))?.value;
}
