/**
 * Fault injection for the ports: wraps the Store, Signer, DeliveryQueue, Mailer and SmsSender
 * of a test's deps so that, once armed, the Nth call to one port fails the way
 * its AWS adapter reports an outage (DependencyError), either at once or after
 * a timeout (the test clock moves on by the timeout first, as a stalled call
 * would take that long). Calls are counted per port while armed, so a healthy
 * run of an action tells how many steps each port has in it.
 */
import { forgetCachedClients } from '../../functions/core/clients.js';
import type { Deps } from '../../functions/core/deps.js';
import { DependencyError } from '../../functions/errors.js';
import type { DeliveryQueue, Mailer, Signer, SmsSender, Store } from '../../functions/ports.js';
import type { TestClock } from './harness.js';

export type Port = 'store' | 'signer' | 'queue' | 'mailer' | 'sms';
export type FaultMode = 'fails' | 'times out';
export const PORTS: readonly Port[] = ['store', 'signer', 'queue', 'mailer', 'sms'];
export const MODES: readonly FaultMode[] = ['fails', 'times out'];
/** How long a stalled call takes before the SDK gives up (the AWS clients' request timeout). */
export const TIMEOUT_MS = 3_000;

const DEPENDENCY: Record<Port, string> = { store: 'dynamodb', signer: 'kms', queue: 'sqs', mailer: 'ses', sms: 'sns' };

export class FaultInjector {
  private counts: Record<Port, number> = { store: 0, signer: 0, queue: 0, mailer: 0, sms: 0 };
  private counting = false;
  private target: { port: Port; call: number; mode: FaultMode } | undefined;
  /** Keys of the store writes that succeeded while counting. */
  readonly writes: string[] = [];

  constructor(
    deps: Deps,
    private readonly clock: TestClock,
  ) {
    const store = deps.store;
    const signer = deps.signer;
    const mailer = deps.mailer;
    const sms = deps.sms;
    const queue = deps.queue;
    const write = async <T>(key: string, run: () => Promise<T>) => {
      await this.step('store');
      const result = await run();
      if (this.counting) this.writes.push(key);
      return result;
    };
    const faultyStore: Store = {
      get: async (key) => (await this.step('store'), store.get(key)),
      // One request however many keys it reads: one step, failing as a read does.
      getMany: async (keys) => (await this.step('store'), store.getMany(keys)),
      keysOwnedBy: async (owner, limit) => (await this.step('store'), store.keysOwnedBy(owner, limit)),
      put: (key, value, options) => write(key, () => store.put(key, value, options)),
      delete: (key, options) => write(key, () => store.delete(key, options)),
      countGuess: (key, options) => write(key, () => store.countGuess(key, options)),
      // Best effort, as uncountAttempt below.
      uncountGuess: (key, version) => store.uncountGuess(key, version),
      increment: (key, by, options) => write(key, () => store.increment(key, by, options)),
      countAttempt: (key, options) => write(key, () => store.countAttempt(key, options)),
      getAttempts: async (key) => (await this.step('store'), store.getAttempts(key)),
      restartAttempts: (key, seen, next, expiresAt) => write(key, () => store.restartAttempts(key, seen, next, expiresAt)),
      // Giving a counted attempt back is best effort by design (core/attempts.ts): when it fails the
      // answer stands and the attempt stays counted, the safe side. It is no step a fault can fail.
      uncountAttempt: (key, run, options) => store.uncountAttempt(key, run, options),
      overwrite: (key, value, options) => write(key, () => store.overwrite(key, value, options)),
      logSendOnRecord: (key, log, expiresAt) => write(key, () => store.logSendOnRecord(key, log, expiresAt)),
      getRecordSendLog: async (key) => (await this.step('store'), store.getRecordSendLog(key)),
    };
    const faultySigner: Signer = {
      currentKeyId: async () => (await this.step('signer'), signer.currentKeyId()),
      sign: async (input) => (await this.step('signer'), signer.sign(input)),
      publicKeys: async () => (await this.step('signer'), signer.publicKeys()),
    };
    const faultyMailer: Mailer = { sendEmail: async (message) => (await this.step('mailer'), mailer.sendEmail(message)) };
    const faultySms: SmsSender = { sendSms: async (message) => (await this.step('sms'), sms.sendSms(message)) };
    // The enqueue is the send's last step; the local queue then runs the delivery sender at once, which in AWS
    // happens later, off the response path: its steps are not the send's (test/integration/delivery.test.ts faults them).
    const faultyQueue: DeliveryQueue = {
      enqueue: async (body) => {
        await this.step('queue');
        const counting = this.counting;
        this.counting = false;
        try {
          return await queue.enqueue(body);
        } finally {
          this.counting = counting;
        }
      },
    };
    Object.assign(deps, { store: faultyStore, signer: faultySigner, queue: faultyQueue, mailer: faultyMailer, sms: faultySms });
  }

  private async step(port: Port): Promise<void> {
    if (!this.counting) return;
    this.counts[port] += 1;
    const target = this.target;
    if (target?.port !== port || target.call !== this.counts[port]) return;
    if (target.mode === 'times out') this.clock.advance(TIMEOUT_MS);
    const cause = Object.assign(new Error(`${DEPENDENCY[port]} ${target.mode === 'fails' ? 'ServiceUnavailable' : 'TimeoutError'}`), {
      name: target.mode === 'fails' ? 'ServiceUnavailable' : 'TimeoutError',
    });
    throw new DependencyError(DEPENDENCY[port], { cause });
  }

  /** Runs `action` healthy and returns how many calls it made to each port. */
  async census<T>(action: () => Promise<T>): Promise<{ result: T; counts: Record<Port, number> }> {
    const result = await this.during(undefined, action);
    return { result, counts: { ...this.counts } };
  }

  /** Runs `action` with the `call`th call to `port` failing in `mode` (or healthy, with no target). */
  async during<T>(target: { port: Port; call: number; mode: FaultMode } | undefined, action: () => Promise<T>): Promise<T> {
    this.counts = { store: 0, signer: 0, queue: 0, mailer: 0, sms: 0 };
    this.writes.length = 0;
    // Every run reads the client record, so the census and each faulted run make the same calls, that read included.
    forgetCachedClients();
    this.target = target;
    this.counting = true;
    try {
      return await action();
    } finally {
      this.counting = false;
      this.target = undefined;
    }
  }
}
