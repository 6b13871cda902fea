/**
 * `npm run totp-keys -- <command>`: rotates the keys that seal TOTP seeds
 * (docs/deploy.md, "Rotating the TOTP key"). The keys live in the TOTP key
 * secret as a JSON object of versions; the functions use the versions named by
 * the `totpKeyIds` context (the first seals, all open).
 *
 *   npm run totp-keys -- add --secret-id <TotpKeySecretArn>
 *   npm run totp-keys -- reseal --secret-id <TotpKeySecretArn> --current 2
 *   npm run totp-keys -- retire --secret-id <TotpKeySecretArn> --version 1
 *
 * The table: DYNAMODB_ENDPOINT (or --endpoint) if set, else TABLE_NAME (or
 * --table) on AWS. `--keys-file FILE` reads and writes the versions in a local
 * JSON file instead of Secrets Manager (local stores and tests).
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbStore } from '../functions/adapters/aws/dynamodb-store.js';
import { dynamoClientFor } from '../functions/adapters/local/embedded-dynamodb.js';
import { SEAL_KEY_ID } from '../functions/core/crypto.js';
import { keyPrefix } from '../functions/access.js';
import { newTotpKeyMaterial, parseTotpKeyring, resealUser, sealedKeyIdsOf } from '../functions/core/totp-seal.js';
import type { UserRecord } from '../functions/core/model.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `Usage: npm run totp-keys -- <add|reseal|retire> (--secret-id ARN | --keys-file FILE) [options]

  add                      add a new random key version (not used until deployed in totpKeyIds)
  reseal --current ID      re-seal every TOTP seed that is not under version ID with it
  retire --version ID      remove version ID from the secret, refused while any seed uses it

Table (reseal, retire): --endpoint URL or DYNAMODB_ENDPOINT, else --table NAME or TABLE_NAME on AWS.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'secret-id': { type: 'string' },
    'keys-file': { type: 'string' },
    current: { type: 'string' },
    version: { type: 'string' },
    endpoint: { type: 'string' },
    table: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

type Versions = Record<string, string>;

/** Where the key versions live: the Secrets Manager secret, or a local file. */
function keySource(): { read(): Promise<Versions>; write(versions: Versions): Promise<void> } {
  const file = values['keys-file'];
  const secretId = values['secret-id'];
  if (file) {
    return {
      read: async () => JSON.parse(await readFile(file, 'utf8')) as Versions,
      write: (versions) => writeFile(file, `${JSON.stringify(versions, null, 2)}\n`, { mode: 0o600 }),
    };
  }
  if (!secretId) fail('name the keys with --secret-id (the TotpKeySecretArn output) or --keys-file');
  const secrets = new SecretsManagerClient({});
  return {
    read: async () => JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString ?? '') as Versions,
    write: async (versions) => {
      await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(versions) }));
    },
  };
}

function table(): DynamoDbStore {
  const endpoint = values.endpoint ?? process.env.DYNAMODB_ENDPOINT;
  const name = values.table ?? process.env.TABLE_NAME;
  if (!name) fail('name the table with --table or TABLE_NAME (the TableName output)');
  return new DynamoDbStore(endpoint ? dynamoClientFor(endpoint) : new DynamoDBClient({}), name);
}

/** The user ids of every user record. */
async function* userIds(store: DynamoDbStore): AsyncGenerator<string> {
  const prefix = keyPrefix('user');
  for await (const key of store.keysWithPrefix(prefix)) yield key.slice(prefix.length);
}

function nextVersion(versions: Versions): string {
  const numbers = Object.keys(versions).map(Number).filter(Number.isInteger);
  return String(Math.max(0, ...numbers) + 1);
}

async function main(): Promise<void> {
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const source = keySource();
  const versions = await source.read();
  if (command === 'add') {
    const id = nextVersion(versions);
    await source.write({ ...versions, [id]: newTotpKeyMaterial(randomBytes) });
    process.stdout.write(`added TOTP key version ${id} (versions now: ${[...Object.keys(versions), id].join(', ')})\n`);
  } else if (command === 'reseal') {
    const current = values.current;
    if (!current || !SEAL_KEY_ID.test(current)) fail('reseal needs --current ID, the version the functions now seal with');
    // Every version in the secret opens; `current` seals.
    const keyring = parseTotpKeyring(JSON.stringify(versions), [current, ...Object.keys(versions).filter((id) => id !== current)]);
    const store = table();
    let users = 0;
    let resealed = 0;
    for await (const userId of userIds(store)) {
      users++;
      resealed += await resealUser(store, keyring, userId);
    }
    process.stdout.write(`re-sealed ${resealed} TOTP seed(s) under version ${current}; ${users} user(s) checked\n`);
  } else if (command === 'retire') {
    const version = values.version;
    if (!version || !(version in versions)) fail(`retire needs --version ID, one of: ${Object.keys(versions).join(', ')}`);
    if (Object.keys(versions).length === 1) fail(`version ${version} is the only one; add another first`);
    const store = table();
    let using = 0;
    for await (const userId of userIds(store)) {
      const user = await store.get<UserRecord>(`${keyPrefix('user')}${userId}`);
      if (user && sealedKeyIdsOf(user.value).has(version)) using++;
    }
    if (using) {
      process.stderr.write(`refused: ${using} user(s) still have seeds sealed under version ${version}; run reseal first\n`);
      process.exit(1);
    }
    const { [version]: _retired, ...rest } = versions;
    await source.write(rest);
    process.stdout.write(`retired TOTP key version ${version} (versions now: ${Object.keys(rest).join(', ')})\n`);
  } else {
    fail(`unknown command ${command}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
