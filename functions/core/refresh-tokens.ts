/**
 * Refresh tokens by generation: a session keeps ONE lineage of refresh
 * tokens, `{nonce, generation}`, and its refresh token is
 * `<session_id>.<generation>.<tag>`, the tag a keyed hash (HMAC-SHA-256 under
 * the service hash key) of the session id, the lineage's random nonce and the
 * generation. Nothing from which a token could be rebuilt is stored without
 * that key, and a tag (256 bits) cannot be forged without it.
 *
 * - A refresh with the current generation rotates: the generation moves on
 *   by one, so every token of an earlier generation, presented again, is
 *   reuse, however many rotations came since. A token of a later generation,
 *   or with a wrong tag, is unknown (it was never issued) and ends nothing.
 * - A token response that does not rotate (session/authenticate, an
 *   authentication that joins the session) hands out the session's current
 *   token: the very token the caller already holds, or the one its last
 *   refresh returned. So it never ends the life of a token the backend kept,
 *   and the record never grows, however many such responses there are.
 *
 * Sessions written before generations keep their hash lists
 * (`refresh_token_hashes`, `retired_refresh_token_hashes`): a live one of
 * them refreshes once into the lineage's current token, a retired one is
 * reuse. Nothing is added to those lists any more, so they stay bounded.
 */
import type { Deps } from './deps.js';
import { constantTimeEqual, keyedHash, randomId, sha256 } from './crypto.js';
import type { ClientRecord, RefreshLineage, SessionRecord } from './model.js';

export type PresentedToken =
  | { kind: 'current'; legacyHash?: string }
  | { kind: 'rotated'; forgiven: boolean }
  | { kind: 'unknown' };

const GENERATION = /^(0|[1-9][0-9]{0,8})$/;

function tagOf(deps: Pick<Deps, 'hashKey'>, sessionId: string, lineage: RefreshLineage, generation: number): string {
  return keyedHash(deps.hashKey, `refresh_token:${sessionId}:${lineage.nonce}:${generation}`);
}

/** A fresh lineage at generation 0, for a new session (or an old one that has none yet). */
export function newLineage(): RefreshLineage {
  return { nonce: randomId(), generation: 0 };
}

/** The session's current refresh token: what every token response of the session hands out. */
export function currentRefreshToken(deps: Pick<Deps, 'hashKey'>, session: SessionRecord & { refresh: RefreshLineage }): string {
  const { refresh } = session;
  return `${session.session_id}.${refresh.generation}.${tagOf(deps, session.session_id, refresh, refresh.generation)}`;
}

/** The session with its lineage moved on by one generation at `now`: every token handed out so far becomes reuse. */
export function rotated(session: SessionRecord & { refresh: RefreshLineage }, now: number): SessionRecord & { refresh: RefreshLineage } {
  const next = { ...session, refresh: { ...session.refresh, generation: session.refresh.generation + 1, rotated_at: now } };
  delete next.last_rotation;
  return next;
}

function includesHash(hashes: readonly string[] | undefined, hash: string): boolean {
  // Every entry is compared, so the position of a match does not show in the timing.
  return (hashes ?? []).reduce((found, h) => constantTimeEqual(h, hash) || found, false);
}

/**
 * What a presented token is to this session. `forgiven`: a rotated token that
 * is the one rotated last, within the client's `refresh_reuse_grace_seconds`
 * of that rotation (a double submit, refused without ending the session).
 */
export function judgeRefreshToken(deps: Pick<Deps, 'hashKey'>, session: SessionRecord, presented: string, client: ClientRecord, now: number): PresentedToken {
  const graceMs = (client.refresh_reuse_grace_seconds ?? 0) * 1000;
  const parts = presented.split('.');
  if (parts.length === 3) {
    const [, generationText, tag] = parts as [string, string, string];
    const lineage = session.refresh;
    if (!lineage || !GENERATION.test(generationText)) return { kind: 'unknown' };
    const generation = Number(generationText);
    if (generation > lineage.generation) return { kind: 'unknown' };
    if (!constantTimeEqual(tag, tagOf(deps, session.session_id, lineage, generation))) return { kind: 'unknown' };
    if (generation === lineage.generation) return { kind: 'current' };
    const last = generation === lineage.generation - 1 && lineage.rotated_at !== undefined && now - lineage.rotated_at < graceMs;
    return { kind: 'rotated', forgiven: last };
  }
  // A token of the layout before generations: `<session_id>.<random>`, known by its hash.
  const hash = sha256(presented);
  if (includesHash(session.refresh_token_hashes, hash)) return { kind: 'current', legacyHash: hash };
  if (includesHash(session.retired_refresh_token_hashes, hash)) {
    const rotation = session.last_rotation;
    return { kind: 'rotated', forgiven: rotation !== undefined && constantTimeEqual(rotation.hash, hash) && now - rotation.at < graceMs };
  }
  return { kind: 'unknown' };
}

/**
 * The session after a refresh with a current token at `now`: a token of the
 * lineage moves it on one generation; a live token of the old layout is
 * retired instead and the lineage (begun if there is none) stays where it is,
 * so the token another holder has of it keeps working.
 */
export function afterRefresh(session: SessionRecord, judged: { legacyHash?: string }, now: number): SessionRecord & { refresh: RefreshLineage } {
  if (judged.legacyHash === undefined) return rotated(withLineage(session), now);
  const hash = judged.legacyHash;
  return {
    ...withLineage(session),
    refresh_token_hashes: (session.refresh_token_hashes ?? []).filter((h) => h !== hash),
    retired_refresh_token_hashes: [...(session.retired_refresh_token_hashes ?? []), hash],
    last_rotation: { hash, at: now },
  };
}

/** The session with a lineage, beginning one if it has none (a session of the old layout). */
export function withLineage(session: SessionRecord): SessionRecord & { refresh: RefreshLineage } {
  return session.refresh ? (session as SessionRecord & { refresh: RefreshLineage }) : { ...session, refresh: newLineage() };
}
