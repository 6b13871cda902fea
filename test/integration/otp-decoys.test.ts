/**
 * Probing `otp/send` + `otp/authenticate` for who is registered through the
 * life of a code: a send to a registered identifier makes a code whose wrong
 * guesses lock it after 5, which expires, which a resend replaces, and whose
 * failures lock the channel after 10. A send to an unregistered identifier
 * must leave behind the same observable life (a decoy), so that every
 * sequence of sends, guesses and clock moves answers byte-identically for
 * both: status, body (request ids and direct codes aside, which are random
 * either way) and headers.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { kindOfKey } from '../../functions/access.js';
import { forgetCachedClients } from '../../functions/core/clients.js';
import type { ClientRecord, UserRecord } from '../../functions/core/model.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { createTestClient, createTestDeps, invoke, otherCode, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';

const VICTIM = { email: 'victim@example.com', phone_number: '+15551230001', username: 'victim' };
const NOBODY = { email: 'nobody@example.com', phone_number: '+15551230002', username: 'nobody', user_id: 'u-nobody' };
const EMAIL_ONLY = { email: 'email-only@example.com', username: 'email-only' };
const PHONE_ONLY = { phone_number: '+15551230003', username: 'phone-only' };

/** `email-only` and `phone-only`: registered users who cannot receive codes on the other channel. */
type Who = 'registered' | 'unregistered' | 'email-only' | 'phone-only';
type IdentifierType = 'email' | 'phone_number' | 'username' | 'user_id';
type SendChannel = 'email' | 'sms' | 'direct';

let t: TestContext;
let client: ClientRecord;
let token: string;
let users: Record<Exclude<Who, 'unregistered'>, UserRecord>;
let mallory: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps, { allow_direct_delivery: true }));
  users = {
    registered: await seedUser(t.deps, VICTIM),
    'email-only': await seedUser(t.deps, EMAIL_ONLY),
    'phone-only': await seedUser(t.deps, PHONE_ONLY),
  };
  mallory = await seedUser(t.deps, { email: 'mallory@example.com' });
});

function identifierOf(who: Who, type: IdentifierType): string {
  if (who === 'unregistered') return NOBODY[type];
  const user = users[who];
  return type === 'user_id' ? user.user_id : user[type]!;
}

interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** What an attacker can do against one identifier, and everything it saw. */
class Probe {
  readonly answers: Answer[] = [];
  /** The last code the victim received or a direct send returned (a wrong guess is any other code). */
  private code = '000000';
  requestId: string | undefined;

  constructor(
    private readonly who: Who,
    private readonly type: IdentifierType,
    private readonly channel: SendChannel,
  ) {}

  async send(extra: Record<string, unknown> = {}, channel = this.channel): Promise<void> {
    const res = await invoke(otpSend, { token, body: { channel, identifier_type: this.type, identifier: identifierOf(this.who, this.type), ...extra } });
    const body = { ...res.body };
    if (typeof body.code === 'string') this.code = body.code;
    else if (this.who !== 'unregistered' && res.status === 200) {
      const user = users[this.who];
      const to = channel === 'sms' ? user.phone_number : user.email;
      if (to !== undefined) this.code = t.outbox.last(to)?.code ?? this.code;
    }
    if (body.request_id !== undefined) this.requestId = body.request_id;
    for (const random of ['code', 'request_id']) if (body[random] !== undefined) body[random] = `<${random}>`;
    this.answers.push({ status: res.status, body, headers: res.headers });
  }

  async guess(extra: Record<string, unknown> = {}, times = 1): Promise<void> {
    for (let i = 0; i < times; i++) {
      const res = await invoke(otpAuthenticate, {
        token,
        body: { passcode: otherCode(this.code), identifier_type: this.type, identifier: identifierOf(this.who, this.type), ...extra },
      });
      this.answers.push({ status: res.status, body: res.body, headers: res.headers });
    }
  }
}

const SEND_COOLDOWN_MS = 31_000;

/** Attack scripts; each runs once against the registered and once against the unregistered identifier. */
const scripts: Array<{ name: string; run: (p: Probe) => Promise<void>; only?: (channel: SendChannel) => boolean }> = [
  // Scripts that send on every channel themselves, or send nothing, run once per identifier type.
  { name: 'guesses with no code sent', only: (channel) => channel === 'email', run: (p) => p.guess({}, 3) },
  {
    name: '6 wrong guesses: the code locks at the 5th',
    run: async (p) => {
      await p.send();
      await p.guess({}, 6);
    },
  },
  {
    name: 'a guess after the code expired (default 5 minutes), then more',
    run: async (p) => {
      await p.send();
      await p.guess();
      t.clock.advance(5 * 60_000 - 1);
      await p.guess();
      t.clock.advance(1);
      await p.guess({}, 2);
    },
  },
  {
    name: 'expires_in is honoured, up to its maximum',
    run: async (p) => {
      await p.send({ expires_in: 7 });
      t.clock.advance(6 * 60_000);
      await p.guess();
      t.clock.advance(60_000);
      await p.guess();
      t.clock.advance(SEND_COOLDOWN_MS);
      await p.send({ expires_in: 60 });
      t.clock.advance(10 * 60_000 - 1);
      await p.guess();
      t.clock.advance(1);
      await p.guess();
    },
  },
  {
    name: 'a locked code, a resend, guessing again',
    run: async (p) => {
      await p.send();
      await p.guess({}, 6);
      t.clock.advance(SEND_COOLDOWN_MS);
      await p.send();
      await p.guess({}, 2);
    },
  },
  {
    name: '11 wrong guesses across resends lock the channel for 15 minutes',
    run: async (p) => {
      await p.send();
      await p.guess({}, 4);
      t.clock.advance(SEND_COOLDOWN_MS);
      await p.send();
      await p.guess({}, 4);
      t.clock.advance(SEND_COOLDOWN_MS);
      await p.send();
      await p.guess({}, 3);
      t.clock.advance(SEND_COOLDOWN_MS);
      await p.send();
      await p.guess();
      t.clock.advance(15 * 60_000);
      await p.send();
      await p.guess();
    },
  },
  {
    name: 'with a generated request_id: a wrong one finds no code, the right one counts',
    run: async (p) => {
      await p.send({ generate_request_id: true });
      await p.guess({ request_id: 'not-the-request-id' }, 6);
      await p.guess({ request_id: p.requestId }, 6);
      await p.guess();
      t.clock.advance(SEND_COOLDOWN_MS);
      await p.send();
      await p.guess({ request_id: p.requestId });
      await p.guess();
    },
  },
  {
    name: "with someone else's session_id: mismatch, nothing counted",
    run: async (p) => {
      const session = await seedAuthentication(t.deps, client, mallory, 'eotp');
      await p.send();
      await p.guess({ session_id: session.session_id }, 6);
      await p.guess({}, 6);
    },
  },
  {
    name: 'codes on both channels: the one the identifier names, or the latest',
    only: (channel) => channel === 'email',
    run: async (p) => {
      await p.send({}, 'email');
      await p.send({}, 'sms');
      await p.guess({}, 6);
    },
  },
];

const combos: Array<{ channel: SendChannel; type: IdentifierType }> = [
  ...(['email', 'sms'] as const).flatMap((channel) => (['email', 'phone_number', 'username', 'user_id'] as const).map((type) => ({ channel, type }))),
  { channel: 'direct', type: 'email' },
  { channel: 'direct', type: 'phone_number' },
];

describe('a registered and an unregistered identifier live through the same code life', () => {
  for (const { channel, type } of combos) {
    for (const script of scripts.filter((s) => s.only?.(channel) ?? true)) {
      it(`${channel} send by ${type}: ${script.name}`, async () => {
        const registered = new Probe('registered', type, channel);
        await script.run(registered);
        // The unregistered run starts where the registered one ended: the two identifiers share no record.
        const unregistered = new Probe('unregistered', type, channel);
        await script.run(unregistered);
        expect(registered.answers.some((a) => a.status !== 200)).toBe(true);
        expect(unregistered.answers).toEqual(registered.answers);
      });
    }
  }
});

describe('a registered user who cannot receive codes on a channel answers like an unregistered identifier there', () => {
  const partial: Array<{ who: Who; channel: SendChannel }> = [
    { who: 'email-only', channel: 'sms' },
    { who: 'phone-only', channel: 'email' },
  ];
  const chosen = scripts.filter((s) => /6 wrong|resend|11 wrong|request_id|both channels/.test(s.name));
  for (const { who, channel } of partial) {
    for (const type of ['username', 'user_id'] as const) {
      for (const script of chosen) {
        it(`${who} user, ${channel} send by ${type}: ${script.name}`, async () => {
          const registered = new Probe(who, type, channel);
          await script.run(registered);
          const unregistered = new Probe('unregistered', type, channel);
          await script.run(unregistered);
          expect(registered.answers.some((a) => a.status === 403)).toBe(true);
          expect(unregistered.answers).toEqual(registered.answers);
        });
      }
    }
  }
});

describe('a guess at an unregistered identifier costs the same store operations', () => {
  for (const type of ['email', 'username'] as const) {
    it(`by ${type}: the same reads and counter writes after the lookup, on records of the same kinds`, async () => {
      const trace = async (who: Who) => {
        const probe = new Probe(who, type, 'email');
        await probe.send();
        const calls: string[] = [];
        const store = t.store;
        forgetCachedClients(); // both traces read the client record once, as a cold instance would
        t.deps.store = proxyStore(store, (op, key) => {
          const kind = kindOfKey(key) ?? key;
          if (['emailClaim', 'phoneClaim', 'usernameClaim', 'user'].includes(kind)) return; // the lookup itself
          calls.push(`${op} ${kind === 'otpDecoy' ? 'otp' : kind}`);
        });
        try {
          await probe.guess({}, 6);
        } finally {
          t.deps.store = store;
        }
        return calls;
      };
      const known = await trace('registered');
      expect(known).toContain('countGuess otp');
      expect(await trace('unregistered')).toEqual(known);
    });
  }
});

describe('what decoys do not hide (documented in SECURITY.md)', () => {
  it("a registered user's code answers guesses by another of their identifiers; a decoy answers only the identifier it was sent to", async () => {
    const statuses = async (who: Who) => {
      await new Probe(who, 'username', 'email').send();
      const byEmail = new Probe(who, 'email', 'email');
      await byEmail.guess({}, 5);
      return byEmail.answers.map((a) => a.status);
    };
    // Someone who already suspects that a username and an email name one account can confirm it; neither alone tells anything.
    expect(await statuses('registered')).toEqual([400, 400, 400, 400, 403]);
    expect(await statuses('unregistered')).toEqual([400, 400, 400, 400, 400]);
  });
});
