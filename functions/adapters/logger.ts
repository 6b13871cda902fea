/**
 * Structured JSON logs to stdout. Callers pass ids and counts, never secrets.
 * Lines carrying embedded metrics are written whatever the level (but
 * `silent`), so the metrics never depend on LOG_LEVEL.
 * As a second line of defence, every string written is scanned for contacts:
 * email addresses and E.164 phone numbers are masked, whoever put them there
 * (an error message from a delivery provider quoting its recipient, say).
 */
import type { Logger } from '../ports.js';

export type LogLevel = 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { info: 0, warn: 1, error: 2, silent: 3 };

const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/g;
const PHONE = /\+\d{5,13}(\d{2})(?!\d)/g;

/** `ada@example.com` -> `a***@example.com`; `+15551234567` -> `+***67`. */
export function maskContacts(text: string): string {
  return text.replace(EMAIL, '$1***@$2').replace(PHONE, '+***$1');
}

export function jsonLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Logger {
  const emit = (at: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    // A line that carries metrics (an `_aws` block: core/metrics.ts) is written at every level but silent:
    // the dashboard and the alarms count them, so raising the level must not blind them.
    if (RANK[at] < RANK[level] && !(fields?._aws !== undefined && level !== 'silent')) return;
    const entry = { level: at, time: new Date().toISOString(), msg, ...fields };
    write(JSON.stringify(entry, (_key, value: unknown) => (typeof value === 'string' ? maskContacts(value) : value)));
  };
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}
