/**
 * Equal response times for sends. A send to a registered user stores a code
 * and waits for SES or SNS (typically 50 to 300 ms); a send to nobody only
 * reads a record or two. Left alone, the difference would tell who is
 * registered as plainly as a 404.
 *
 * Twofold pads rather than equalises: every OTP and link send answers no
 * sooner than the client's `send_response_floor_ms` (default 1000 ms) after
 * it began, whatever happened. Delivery cannot be moved off the response
 * path (a failed delivery must answer 503 and leave no usable code), and
 * there is no honest dummy call to SES or SNS to give the unknown path the
 * same cost. The residual: a send whose real work takes longer than the
 * floor (a slow provider) stands out; such sends are logged ("send exceeded
 * its response floor", by route, never by user) so the operator can raise
 * the floor.
 *
 * This uses the real monotonic clock, not the injected Clock: the floor is
 * wall time as a caller measures it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENT_DEFAULTS } from './clients.js';
import type { Deps } from './deps.js';
import type { ClientRecord } from './model.js';

/** Runs `work` and answers (result or error) no sooner than the client's floor after the call began. */
export async function withResponseFloor<T>(deps: Pick<Deps, 'logger'>, client: ClientRecord, route: string, work: () => Promise<T>): Promise<T> {
  // A client stored before the setting existed gets the default, never "no floor".
  const floorMs = client.send_response_floor_ms ?? CLIENT_DEFAULTS.send_response_floor_ms;
  const started = performance.now();
  try {
    return await work();
  } finally {
    const left = floorMs - (performance.now() - started);
    if (left > 0) await sleep(left);
    else if (floorMs > 0) deps.logger.warn('send exceeded its response floor', { route, client_id: client.client_id, floor_ms: floorMs, ms: Math.round(floorMs - left) });
  }
}
