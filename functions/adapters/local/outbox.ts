/**
 * Captures emails and SMS instead of sending them (local server and tests).
 * Served at GET /local/outbox by the local server only.
 */
import { randomUUID } from 'node:crypto';
import { DependencyError } from '../../errors.js';
import type { Clock, EmailMessage, Mailer, SmsMessage, SmsSender } from '../../ports.js';

export interface OutboxMessage {
  id: string;
  channel: 'email' | 'sms';
  to: string;
  subject?: string;
  text: string;
  html?: string;
  code?: string;
  link?: string;
  created_at: string;
}

export class Outbox implements Mailer, SmsSender {
  readonly messages: OutboxMessage[] = [];
  /** Set to make the next deliveries fail, as a provider outage would. */
  failing = false;

  constructor(
    private readonly clock: Clock = { now: () => Date.now() },
    private readonly capacity = 1000,
  ) {}

  async sendEmail(message: EmailMessage): Promise<void> {
    this.record({ channel: 'email', to: message.to, subject: message.subject, text: message.text, html: message.html, code: message.code, link: message.link });
  }

  async sendSms(message: SmsMessage): Promise<void> {
    this.record({ channel: 'sms', to: message.to, text: message.text, code: message.code });
  }

  /** Oldest first; `to` filters by recipient (emails compared case-insensitively). */
  list(to?: string): OutboxMessage[] {
    if (!to) return [...this.messages];
    const wanted = to.trim().toLowerCase();
    return this.messages.filter((m) => m.to.toLowerCase() === wanted);
  }

  last(to: string): OutboxMessage | undefined {
    return this.list(to).at(-1);
  }

  clear(): void {
    this.messages.length = 0;
  }

  private record(message: Omit<OutboxMessage, 'id' | 'created_at'>): void {
    if (this.failing) throw new DependencyError(message.channel === 'email' ? 'mailer' : 'sms');
    const entry = Object.fromEntries(Object.entries(message).filter(([, v]) => v !== undefined)) as Omit<OutboxMessage, 'id' | 'created_at'>;
    this.messages.push({ id: randomUUID(), ...entry, created_at: new Date(this.clock.now()).toISOString() });
    if (this.messages.length > this.capacity) this.messages.shift();
  }
}
