/**
 * `npm run client -- <command>`: administers API clients straight in the
 * table (never over HTTP). Prints a new client's secret once; only its hash
 * is stored.
 *
 *   npm run client -- create --name shop --redirect-uri https://shop.example/cb
 *   npm run client -- update <client_id> --mfa-policy distinct_methods
 *   npm run client -- show <client_id>
 *
 * Where it writes: DYNAMODB_ENDPOINT (or --endpoint) if set; else, with
 * TABLE_NAME set, the real DynamoDB of the AWS environment; else the embedded
 * store of a running `npm start` (http://127.0.0.1:3001, table twofold-local).
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbStore, ensureTable } from '../functions/adapters/aws/dynamodb-store.js';
import { dynamoClientFor } from '../functions/adapters/local/embedded-dynamodb.js';
import { LOCAL_TABLE_NAME } from '../functions/adapters/local/server.js';
import { SMS_COUNTRIES } from '../functions/core/calling-codes.js';
import { createClient, getClient, MAX_ENROLMENT_MAX_AGE_SECONDS, MAX_REFRESH_REUSE_GRACE_SECONDS, MIN_ENROLMENT_MAX_AGE_SECONDS, updateClient, type ClientSettings } from '../functions/core/clients.js';
import type { ClientRecord, MfaPolicy } from '../functions/core/model.js';
import { webauthnSettingsProblems } from '../functions/core/webauthn-settings.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `Usage: npm run client -- <create|update|show> [client_id] [options]

  create --name NAME [settings]          create a client; prints its secret once
  update CLIENT_ID [settings]            change a client's settings
  show CLIENT_ID                         print a client's settings (never its secret)

Settings:
  --redirect-uri URI                     allowed magic-link redirect URI (repeatable; replaces the list)
  --mfa-policy factor_classes|distinct_methods
                                         MFA = two factor classes (default) or any two methods
  --idle-timeout SECONDS                 session idle timeout (default 86400)
  --absolute-lifetime SECONDS            session absolute lifetime (default 1209600)
  --ip-binding on|off                    bind sessions to the end user's IP (default on)
  --direct-delivery on|off               allow channel "direct" (codes in the response; default off)
  --reveal-unknown-users on|off          404 user_not_found on sends for unknown users (default off)
  --send-budget N                        real email OTP/link deliveries per hour for this client (default 1000;
                                         sends to unknown users do not count)
  --sms-budget N                         real SMS deliveries per hour for this client, counted apart from
                                         email (default 1000)
  --sms-countries CC,CC|all              SMS only to these countries (ISO 3166 codes, e.g. US,CA; default all).
                                         Matched on the calling code (+1: the area code for NANP members
                                         other than US and Canada; US and CA allow each other): docs/operations.md
  --refresh-reuse-grace SECONDS          a just-rotated refresh token presented again within this is refused
                                         without ending the session (default 0: reuse ends it at once; max 60)
  --enrolment-max-age SECONDS            adding a factor to a user who holds one needs MFA proved within
                                         this (default 900: 15 minutes; 60 to 86400)
  --webauthn-rp-id HOST                  passkeys: the relying-party ID, e.g. shop.example (unset: passkeys off)
  --webauthn-rp-name NAME                passkeys: the name authenticators show (default the client name)
  --webauthn-origin ORIGIN               passkeys: an allowed origin, exactly scheme://host[:port]
                                         (repeatable; replaces the list; on the RP ID or a subdomain)
  --webauthn-user-verification required|preferred
                                         passkeys: must the authenticator verify the user (default required)
  --client-id ID                         (create) choose the id instead of a random one

Target: --endpoint URL or DYNAMODB_ENDPOINT; else TABLE_NAME on AWS; else the local
server's embedded store at http://127.0.0.1:3001. --table NAME overrides the table.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'mfa-policy': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'absolute-lifetime': { type: 'string' },
    'ip-binding': { type: 'string' },
    'direct-delivery': { type: 'string' },
    'reveal-unknown-users': { type: 'string' },
    'send-budget': { type: 'string' },
    'sms-budget': { type: 'string' },
    'sms-countries': { type: 'string' },
    'webauthn-rp-id': { type: 'string' },
    'webauthn-rp-name': { type: 'string' },
    'webauthn-origin': { type: 'string', multiple: true },
    'webauthn-user-verification': { type: 'string' },
    'refresh-reuse-grace': { type: 'string' },
    'enrolment-max-age': { type: 'string' },
    endpoint: { type: 'string' },
    table: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

function onOff(flag: string): boolean | undefined {
  const value = values[flag as keyof typeof values] as string | undefined;
  if (value === undefined) return undefined;
  if (value !== 'on' && value !== 'off') fail(`--${flag} takes on or off`);
  return value === 'on';
}

function positiveInt(flag: string): number | undefined {
  const value = values[flag as keyof typeof values] as string | undefined;
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`--${flag} takes a positive whole number`);
  return n;
}

function wholeNumberUpTo(flag: string, max: number): number | undefined {
  const value = values[flag as keyof typeof values] as string | undefined;
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > max) fail(`--${flag} takes a whole number from 0 to ${max}`);
  return n;
}

function enrolmentMaxAge(): number | undefined {
  const value = values['enrolment-max-age'];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < MIN_ENROLMENT_MAX_AGE_SECONDS || n > MAX_ENROLMENT_MAX_AGE_SECONDS) fail(`--enrolment-max-age takes a whole number from ${MIN_ENROLMENT_MAX_AGE_SECONDS} to ${MAX_ENROLMENT_MAX_AGE_SECONDS}`);
  return n;
}

/** `--sms-countries US,CA`: ISO 3166 codes the SMS country table knows, upper-cased; `all` (no list) is undefined here. */
function smsCountries(): string[] | undefined {
  const value = values['sms-countries'];
  if (value === undefined || value.trim().toLowerCase() === 'all') return undefined;
  const codes = [...new Set(value.split(',').map((code) => code.trim().toUpperCase()).filter(Boolean))];
  const unknown = codes.filter((code) => !SMS_COUNTRIES.has(code));
  if (codes.length === 0 || unknown.length) fail(`--sms-countries takes ISO 3166 country codes (e.g. US,CA) or all${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
  return codes;
}

/** Settings the flags put back to their default (`--sms-countries all`). */
function unsetFromFlags(): Array<keyof ClientSettings> {
  return values['sms-countries']?.trim().toLowerCase() === 'all' ? ['sms_countries'] : [];
}

function settingsFromFlags(): Partial<ClientSettings> {
  const policy = values['mfa-policy'];
  if (policy !== undefined && policy !== 'factor_classes' && policy !== 'distinct_methods') {
    fail('--mfa-policy takes factor_classes or distinct_methods');
  }
  for (const uri of values['redirect-uri'] ?? []) {
    try {
      new URL(uri);
    } catch {
      fail(`--redirect-uri ${uri} is not an absolute URL`);
    }
  }
  const verification = values['webauthn-user-verification'];
  if (verification !== undefined && verification !== 'required' && verification !== 'preferred') {
    fail('--webauthn-user-verification takes required or preferred');
  }
  return {
    webauthn_rp_id: values['webauthn-rp-id'],
    webauthn_rp_name: values['webauthn-rp-name'],
    webauthn_origins: values['webauthn-origin'],
    webauthn_user_verification: verification as 'required' | 'preferred' | undefined,
    redirect_uris: values['redirect-uri'],
    mfa_policy: policy as MfaPolicy | undefined,
    session_idle_timeout_seconds: positiveInt('idle-timeout'),
    session_absolute_lifetime_seconds: positiveInt('absolute-lifetime'),
    bind_sessions_to_ip: onOff('ip-binding'),
    allow_direct_delivery: onOff('direct-delivery'),
    reveal_unknown_users: onOff('reveal-unknown-users'),
    send_budget_per_hour: positiveInt('send-budget'),
    sms_budget_per_hour: positiveInt('sms-budget'),
    sms_countries: smsCountries(),
    refresh_reuse_grace_seconds: wholeNumberUpTo('refresh-reuse-grace', MAX_REFRESH_REUSE_GRACE_SECONDS),
    enrolment_max_age_seconds: enrolmentMaxAge(),
  };
}

/** Passkey settings must make sense together, as they will be once applied. */
function checkWebAuthn(settings: Partial<ClientSettings>, existing?: ClientRecord): void {
  const rpId = settings.webauthn_rp_id ?? existing?.webauthn_rp_id;
  const origins = settings.webauthn_origins ?? existing?.webauthn_origins;
  const problems = webauthnSettingsProblems(rpId, origins);
  if (problems.length) fail(problems.map((p) => `passkeys: ${p}`).join('\n'));
}

function target(): { client: DynamoDBClient; table: string; where: string } {
  const endpoint = values.endpoint ?? process.env.DYNAMODB_ENDPOINT;
  if (endpoint) {
    const table = values.table ?? process.env.TABLE_NAME ?? LOCAL_TABLE_NAME;
    return { client: dynamoClientFor(endpoint), table, where: `${endpoint} table ${table}` };
  }
  if (process.env.TABLE_NAME || values.table) {
    const table = values.table ?? process.env.TABLE_NAME!;
    return { client: new DynamoDBClient({}), table, where: `AWS DynamoDB table ${table}` };
  }
  const local = 'http://127.0.0.1:3001';
  return { client: dynamoClientFor(local), table: LOCAL_TABLE_NAME, where: `the local server's store (${local}, table ${LOCAL_TABLE_NAME})` };
}

function printSettings(client: ClientRecord): void {
  const { secret_hash: _hidden, ...visible } = client;
  process.stdout.write(`${JSON.stringify(visible, null, 2)}\n`);
}

async function main(): Promise<void> {
  const [command, clientId] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { client, table, where } = target();
  const store = new DynamoDbStore(client, table);
  try {
    if (command === 'create') {
      if (!values.name) fail('create needs --name');
      if (!process.env.DYNAMODB_ENDPOINT && !values.endpoint && !process.env.TABLE_NAME && !values.table) {
        // The local server creates its table at start; make sure we fail clearly if it is not running.
        await ensureTable(client, table).catch(() => fail(`Cannot reach ${where}. Is \`npm start\` running?`));
      }
      const settings = settingsFromFlags();
      checkWebAuthn(settings);
      const { client: created, client_secret } = await createClient(store, Date.now(), {
        name: values.name,
        client_id: values['client-id'],
        ...settings,
      });
      process.stdout.write(`Created client in ${where}:\n`);
      printSettings(created);
      process.stdout.write(`\nclient_secret: ${client_secret}\n\nThis secret is shown only now; Twofold stores only its hash.\n`);
    } else if (command === 'update') {
      if (!clientId) fail('update needs a client_id');
      const settings = settingsFromFlags();
      checkWebAuthn(settings, await getClient({ store }, clientId));
      const updated = await updateClient(store, clientId, settings, unsetFromFlags());
      process.stdout.write(`Updated client in ${where}:\n`);
      printSettings(updated);
    } else if (command === 'show') {
      if (!clientId) fail('show needs a client_id');
      const found = await getClient({ store }, clientId);
      if (!found) fail(`No client ${clientId} in ${where}`);
      printSettings(found);
    } else {
      fail(`Unknown command ${command}`);
    }
  } finally {
    client.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`client: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
