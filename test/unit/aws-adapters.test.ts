/**
 * The AWS adapters against aws-sdk-client-mock: the exact commands they send,
 * and how failures surface (DependencyError -> 503, nothing secret in the
 * error). The fake KMS really signs (ECDSA over the digest it receives), so a
 * JWT signed through the KMS signer is verified by jose.
 */
import { createHash, randomBytes } from 'node:crypto';
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbStore } from '../../functions/adapters/aws/dynamodb-store.js';
import { KmsSigner } from '../../functions/adapters/aws/kms-signer.js';
import { SesMailer } from '../../functions/adapters/aws/ses-mailer.js';
import { SnsSmsSender } from '../../functions/adapters/aws/sns-sms.js';
import { buildAwsDeps } from '../../functions/adapters/aws/wiring.js';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { ConfigError, parseConfig } from '../../functions/config.js';
import { signJwt } from '../../functions/core/tokens.js';
import { DependencyError } from '../../functions/errors.js';
import { jwkFromSpki } from '../../functions/published-keys.js';
import { routeNamed } from '../../functions/routes.js';
import { getDeps } from '../../functions/runtime.js';
import { FakeKmsKey } from '../support/fake-kms-key.js';

const kms = mockClient(KMSClient);
const ses = mockClient(SESClient);
const sns = mockClient(SNSClient);
const secrets = mockClient(SecretsManagerClient);

beforeEach(() => {
  kms.reset();
  ses.reset();
  sns.reset();
  secrets.reset();
});

/** What the SDK throws for a service-side failure. */
function awsError(name: string, message: string, status = 500): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'req-123' } });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Everything an error would put in a log line: its message and its cause's. */
function loggable(error: unknown): string {
  const e = error as Error;
  return `${e.name} ${e.message} ${e.cause instanceof Error ? `${e.cause.name} ${e.cause.message}` : String(e.cause)}`;
}

const CURRENT = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111');
const PREVIOUS = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000');
const FAKE_KEYS = new Map([CURRENT, PREVIOUS].map((key) => [key.keyId, key]));

function serveFakeKms(): void {
  kms.on(GetPublicKeyCommand).callsFake(({ KeyId }: { KeyId: string }) => {
    const key = FAKE_KEYS.get(KeyId);
    if (!key) throw awsError('NotFoundException', `Key '${KeyId}' does not exist`, 400);
    return { KeyId, PublicKey: key.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] };
  });
  kms.on(SignCommand).callsFake(({ KeyId, Message, MessageType }: { KeyId: string; Message: Uint8Array; MessageType: string }) => {
    const key = FAKE_KEYS.get(KeyId);
    if (!key || MessageType !== 'DIGEST' || Message.length !== 32) throw awsError('ValidationException', 'bad Sign request', 400);
    return { KeyId, Signature: key.signDigest(Message), SigningAlgorithm: 'ECDSA_SHA_256' };
  });
}

const signerWith = (previousKeyIds: string[] = []) => new KmsSigner(new KMSClient({ region: 'us-east-1' }), { keyId: CURRENT.keyId, previousKeyIds });

describe('KMS signer', () => {
  it('publishes a next key (rotation phase 1) after the current one, and never signs with it', async () => {
    serveFakeKms();
    const signer = new KmsSigner(new KMSClient({ region: 'us-east-1' }), { keyId: CURRENT.keyId, nextKeyIds: [PREVIOUS.keyId] });
    const kids = (await signer.publicKeys()).map((key) => key.kid);
    expect(kids).toEqual([await calculateJwkThumbprint(CURRENT.jwk, 'sha256'), await calculateJwkThumbprint(PREVIOUS.jwk, 'sha256')]);
    await signer.sign(Buffer.from('a'));
    expect(kms.commandCalls(SignCommand).map((call) => call.args[0].input.KeyId)).toEqual([CURRENT.keyId]);
  });

  it('has KMS sign the SHA-256 digest of the JWS input with ES256, and jose verifies the token', async () => {
    serveFakeKms();
    const signer = signerWith();
    const token = await signJwt(signer, 'JWT', { iss: 'https://twofold.test', sub: 'user-1', aud: 'client-1', iat: 1_700_000_000, exp: 4_000_000_000 });

    const signingInput = token.slice(0, token.lastIndexOf('.'));
    const calls = kms.commandCalls(SignCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      KeyId: CURRENT.keyId,
      Message: createHash('sha256').update(signingInput).digest(),
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: await signer.publicKeys() }), { algorithms: ['ES256'], issuer: 'https://twofold.test' });
    expect(payload.sub).toBe('user-1');
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: await calculateJwkThumbprint(CURRENT.jwk, 'sha256'), typ: 'JWT' });
  });

  it('returns 64-byte r||s signatures however short the DER integers are', async () => {
    serveFakeKms();
    const signer = signerWith();
    for (let i = 0; i < 20; i++) expect(await signer.sign(randomBytes(50))).toHaveLength(64);
  });

  it('publishes the current and previous public keys under their RFC 7638 thumbprints, and signs only with the current one', async () => {
    serveFakeKms();
    const signer = signerWith([PREVIOUS.keyId]);
    const keys = await signer.publicKeys();
    expect(keys).toEqual([
      { ...CURRENT.jwk, kid: await calculateJwkThumbprint(CURRENT.jwk, 'sha256'), alg: 'ES256', use: 'sig' },
      { ...PREVIOUS.jwk, kid: await calculateJwkThumbprint(PREVIOUS.jwk, 'sha256'), alg: 'ES256', use: 'sig' },
    ]);
    expect(await signer.currentKeyId()).toBe(keys[0]!.kid);

    await Promise.all([signer.sign(Buffer.from('a')), signer.sign(Buffer.from('b'))]);
    expect(kms.commandCalls(SignCommand).map((call) => call.args[0].input.KeyId)).toEqual([CURRENT.keyId, CURRENT.keyId]);
  });

  it('fetches each public key once per cold start, however many tokens it signs or verifies', async () => {
    serveFakeKms();
    const signer = signerWith([PREVIOUS.keyId]);
    await Promise.all([signer.publicKeys(), signer.currentKeyId(), signer.publicKeys()]);
    await signJwt(signer, 'at+jwt', { sub: 'c' });
    await signer.publicKeys();
    expect(kms.commandCalls(GetPublicKeyCommand).map((call) => call.args[0].input)).toEqual([{ KeyId: CURRENT.keyId }, { KeyId: PREVIOUS.keyId }]);
  });

  it('answers a KMS outage while fetching the public key with DependencyError, and tries again on the next call', async () => {
    kms.on(GetPublicKeyCommand).rejectsOnce(awsError('KMSInternalException', 'internal error'));
    const signer = signerWith();
    const error = await rejection(signer.publicKeys());
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('kms');

    serveFakeKms();
    expect(await signer.publicKeys()).toHaveLength(1);
  });

  it('answers a failed Sign with DependencyError(kms), without the signing input in the error', async () => {
    serveFakeKms();
    kms.on(SignCommand).rejects(awsError('ThrottlingException', 'Rate exceeded', 400));
    const error = await rejection(signerWith().sign(Buffer.from('header.payload-with-secret-claims')));
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('kms');
    expect(loggable(error)).toContain('ThrottlingException');
    expect(loggable(error)).not.toContain('payload-with-secret-claims');
  });

  it('refuses a key that cannot make ES256 signatures', async () => {
    kms.on(GetPublicKeyCommand).resolves({ KeyId: CURRENT.keyId, PublicKey: CURRENT.spki, KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    const error = await rejection(signerWith().publicKeys());
    expect(error).not.toBeInstanceOf(DependencyError);
    expect((error as Error).message).toMatch(/ECC_NIST_P256/);
  });
});

describe('DynamoDB store, reading many keys in one BatchGetItem', () => {
  const item = (pk: string, n: number) => ({ pk: { S: pk }, v: { N: '1' }, d: { M: { n: { N: String(n) } } } });

  it('asks for every key with a consistent read, and asks again for the keys DynamoDB left unprocessed until none is left', async () => {
    const client = new DynamoDBClient({ region: 'us-east-1' });
    const dynamodb = mockClient(client);
    dynamodb
      .on(BatchGetItemCommand)
      .resolvesOnce({ Responses: { t: [item('a', 1)] }, UnprocessedKeys: { t: { Keys: [{ pk: { S: 'b' } }, { pk: { S: 'c' } }], ConsistentRead: true } } })
      .resolvesOnce({ Responses: { t: [item('b', 2)] }, UnprocessedKeys: { t: { Keys: [{ pk: { S: 'c' } }], ConsistentRead: true } } })
      .resolvesOnce({ Responses: { t: [] }, UnprocessedKeys: {} });
    const read = await new DynamoDbStore(client, 't').getMany(['a', 'b', 'c', 'a']);
    expect(Object.fromEntries(read)).toEqual({ a: { value: { n: 1 }, version: 1 }, b: { value: { n: 2 }, version: 1 } });
    const asked = dynamodb.commandCalls(BatchGetItemCommand).map((call) => call.args[0].input.RequestItems);
    expect(asked).toEqual([
      { t: { Keys: [{ pk: { S: 'a' } }, { pk: { S: 'b' } }, { pk: { S: 'c' } }], ConsistentRead: true } },
      { t: { Keys: [{ pk: { S: 'b' } }, { pk: { S: 'c' } }], ConsistentRead: true } },
      { t: { Keys: [{ pk: { S: 'c' } }], ConsistentRead: true } },
    ]);
  });

  it('fails as an outage (503), never with a partial answer, when keys stay unprocessed; a throttled batch is an outage too', async () => {
    const client = new DynamoDBClient({ region: 'us-east-1' });
    const dynamodb = mockClient(client);
    dynamodb.on(BatchGetItemCommand).resolves({ Responses: { t: [item('a', 1)] }, UnprocessedKeys: { t: { Keys: [{ pk: { S: 'b' } }] } } });
    const store = new DynamoDbStore(client, 't');
    expect(await rejection(store.getMany(['a', 'b']))).toBeInstanceOf(DependencyError);
    expect(dynamodb.commandCalls(BatchGetItemCommand)).toHaveLength(4);
    dynamodb.reset();
    dynamodb.on(BatchGetItemCommand).rejects(awsError('ProvisionedThroughputExceededException', 'throughput exceeded', 400));
    expect(await rejection(store.getMany(['a']))).toBeInstanceOf(DependencyError);
  });
});

describe('SES mailer', () => {
  const message = {
    to: 'ada@example.com',
    subject: 'Your Twofold code',
    text: 'Your code is 123456',
    html: '<p>Your code is <b>123456</b></p>',
    code: '123456',
  };

  it('sends one email with HTML and text bodies from the configured sender', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    await new SesMailer(new SESClient({ region: 'us-east-1' }), { fromAddress: 'no-reply@twofold.example' }).sendEmail(message);
    expect(ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input)).toEqual([
      {
        Source: 'no-reply@twofold.example',
        Destination: { ToAddresses: ['ada@example.com'] },
        Message: {
          Subject: { Data: 'Your Twofold code', Charset: 'UTF-8' },
          Body: {
            Html: { Data: '<p>Your code is <b>123456</b></p>', Charset: 'UTF-8' },
            Text: { Data: 'Your code is 123456', Charset: 'UTF-8' },
          },
        },
      },
    ]);
  });

  it('names the configuration set when one is configured', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    await new SesMailer(new SESClient({ region: 'us-east-1' }), { fromAddress: 'no-reply@twofold.example', configurationSet: 'twofold-events' }).sendEmail(message);
    expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input.ConfigurationSetName).toBe('twofold-events');
  });

  it('answers a rejected send with DependencyError(ses) that carries neither the code nor the recipient', async () => {
    ses.on(SendEmailCommand).rejects(awsError('MessageRejected', 'Email address is not verified: ada@example.com', 400));
    const error = await rejection(new SesMailer(new SESClient({ region: 'us-east-1' }), { fromAddress: 'no-reply@twofold.example' }).sendEmail(message));
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('ses');
    expect(loggable(error)).toContain('MessageRejected');
    expect(loggable(error)).not.toContain('123456');
    expect(loggable(error)).not.toContain('ada@example.com');
  });
});

describe('SNS SMS sender', () => {
  const message = { to: '+15551234567', text: 'Twofold code: 654321', code: '654321' };

  it('publishes a Transactional SMS straight to the phone number', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 's-1' });
    await new SnsSmsSender(new SNSClient({ region: 'us-east-1' })).sendSms(message);
    expect(sns.commandCalls(PublishCommand).map((call) => call.args[0].input)).toEqual([
      {
        PhoneNumber: '+15551234567',
        Message: 'Twofold code: 654321',
        MessageAttributes: { 'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' } },
      },
    ]);
  });

  it('adds the sender ID when one is configured', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 's-1' });
    await new SnsSmsSender(new SNSClient({ region: 'us-east-1' }), { senderId: 'Twofold' }).sendSms(message);
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.MessageAttributes).toEqual({
      'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
      'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: 'Twofold' },
    });
  });

  it('answers a failed publish with DependencyError(sns) that carries neither the text nor the number', async () => {
    sns.on(PublishCommand).rejects(awsError('ThrottledException', 'Rate exceeded for +15551234567: Twofold code: 654321', 400));
    const error = await rejection(new SnsSmsSender(new SNSClient({ region: 'us-east-1' })).sendSms(message));
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('sns');
    expect(loggable(error)).not.toContain('654321');
    expect(loggable(error)).not.toContain('+15551234567');
  });
});

const ENV = {
  TABLE_NAME: 'twofold-sessions',
  ISSUER: 'https://abc123.execute-api.us-east-1.amazonaws.com',
  KMS_KEY_ID: CURRENT.keyId,
  // What the deploy-time custom resource reads from KMS: the current key first.
  SIGNING_PUBLIC_KEYS: JSON.stringify([jwkFromSpki(CURRENT.spki), jwkFromSpki(PREVIOUS.spki)]),
  HASH_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:HashKey-abc',
  TOTP_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:TotpKeys-abc',
  USER_TOKEN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:UserTokenKeys-abc',
  SES_FROM_ADDRESS: 'no-reply@twofold.example',
  SMS_SENDER_ID: 'Twofold',
  LOG_LEVEL: 'silent',
};
const SECRET = 'k'.repeat(20) + 'Q3xv9LmZp2Rt8WyBn4Hc6JdKf0Gs1Ae5Ui7Oq';
const TOTP_KEYS = { '1': 'a'.repeat(64), '2': 'b'.repeat(64) };
const USER_TOKEN_KEYS = { '1': 'c'.repeat(64), '2': 'd'.repeat(64) };

/** The TOTP and user-token keyring secrets, answered by their ids; everything else by `hashKey`. */
function serveTotpKeys(): void {
  secrets.on(GetSecretValueCommand, { SecretId: ENV.TOTP_KEY_SECRET_ARN }).resolves({ SecretString: JSON.stringify(TOTP_KEYS) });
  secrets.on(GetSecretValueCommand, { SecretId: ENV.USER_TOKEN_KEY_SECRET_ARN }).resolves({ SecretString: JSON.stringify(USER_TOKEN_KEYS) });
}

describe('AWS wiring', () => {
  it('reads the hash key from Secrets Manager once and wires every adapter from the configuration', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    serveTotpKeys();
    const config = parseConfig({ ...ENV, TOTP_KEY_IDS: '2,1', USER_TOKEN_KEY_IDS: '1,2' });
    const deps = await buildAwsDeps(config);
    expect(secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: ENV.HASH_KEY_SECRET_ARN },
      { SecretId: ENV.TOTP_KEY_SECRET_ARN },
      { SecretId: ENV.USER_TOKEN_KEY_SECRET_ARN },
    ]);
    expect(Buffer.from(deps.hashKey).toString('utf8')).toBe(SECRET);
    expect(deps.totpKeys.current).toBe('2');
    expect(Object.keys(deps.totpKeys.keys).sort()).toEqual(['1', '2']);
    expect(deps.userTokenKeys.current).toBe('1');
    expect(Object.keys(deps.userTokenKeys.keys).sort()).toEqual(['1', '2']);
    expect(deps.store).toBeInstanceOf(DynamoDbStore);
    expect(deps.signer).toBeInstanceOf(KmsSigner);
    expect(deps.mailer).toBeInstanceOf(SesMailer);
    expect(deps.sms).toBeInstanceOf(SnsSmsSender);
    expect(deps.settings).toEqual({ issuer: ENV.ISSUER, appName: 'Twofold', tokenTtlSeconds: 3600, scrypt: { N: 2 ** 17, r: 8, p: 1 } });

    serveFakeKms();
    expect(await deps.signer.publicKeys()).toEqual([jwkFromSpki(CURRENT.spki), jwkFromSpki(PREVIOUS.spki)]);
    await signJwt(deps.signer, 'at+jwt', { sub: 'c' });
    // The keys came with the deployment: the only KMS call is the Sign.
    expect(kms.calls().map((call) => call.args[0].constructor.name)).toEqual(['SignCommand']);
  });

  it('gives a function that only verifies tokens the deployed public keys and no KMS client', async () => {
    serveFakeKms();
    const deps = await buildAwsDeps(parseConfig(ENV), undefined, routeNamed('users-get'));
    expect(deps.signer).not.toBeInstanceOf(KmsSigner);
    expect(await deps.signer.publicKeys()).toEqual([jwkFromSpki(CURRENT.spki), jwkFromSpki(PREVIOUS.spki)]);
    expect(await deps.signer.currentKeyId()).toBe(jwkFromSpki(CURRENT.spki).kid);
    await expect(deps.signer.sign(Buffer.from('a'))).rejects.toThrow(/no sign capability/);
    expect(kms.calls()).toHaveLength(0);
  });

  it('uses a binary secret as it is', async () => {
    const bytes = randomBytes(32);
    secrets.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array(bytes) });
    serveTotpKeys();
    expect(Buffer.from((await buildAwsDeps(parseConfig(ENV))).hashKey)).toEqual(bytes);
  });

  it('answers a Secrets Manager outage at cold start with DependencyError and logs it (the request has no logger yet)', async () => {
    secrets.on(GetSecretValueCommand).rejects(awsError('InternalServiceError', 'boom'));
    const lines: string[] = [];
    const error = await rejection(buildAwsDeps(parseConfig(ENV), jsonLogger('info', (line) => lines.push(line))));
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('secretsmanager');
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([{ level: 'error', msg: 'cold start wiring failed', dependency: 'secretsmanager' }]);
  });

  it('refuses a hash key shorter than 32 bytes', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'short' });
    serveTotpKeys();
    expect(((await rejection(buildAwsDeps(parseConfig(ENV)))) as Error).message).toMatch(/at least 32/);
  });

  it('refuses a TOTP key version in use that the secret does not hold, naming it', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    serveTotpKeys();
    expect(((await rejection(buildAwsDeps(parseConfig({ ...ENV, TOTP_KEY_IDS: '3,2' })))) as Error).message).toMatch(/TOTP key version 3 is not in/);
  });

  it('refuses a user-token key version in use that the secret does not hold, naming it', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    serveTotpKeys();
    expect(((await rejection(buildAwsDeps(parseConfig({ ...ENV, USER_TOKEN_KEY_IDS: '3,1' })))) as Error).message).toMatch(/user-token key version 3 is not in/);
  });

  it('reads at cold start only the secrets the route declares', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    serveTotpKeys();
    await buildAwsDeps(parseConfig(ENV), undefined, routeNamed('oidc-jwks'));
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    await buildAwsDeps(parseConfig(ENV), undefined, routeNamed('auth-totp-register'));
    // A user-token route checks the token with the user-token keys.
    expect(secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: ENV.TOTP_KEY_SECRET_ARN },
      { SecretId: ENV.USER_TOKEN_KEY_SECRET_ARN },
    ]);
    secrets.resetHistory();
    // The token endpoint signs client tokens only: no user-token key.
    await buildAwsDeps(parseConfig(ENV), undefined, routeNamed('oidc-token'));
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  describe('in a Lambda, where nothing installed dependencies', () => {
    beforeEach(() => {
      for (const [key, value] of Object.entries(ENV)) vi.stubEnv(key, value);
    });
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it('getDeps() wires AWS on first use, retries a failed cold start, then keeps the wiring', async () => {
      secrets.on(GetSecretValueCommand).rejectsOnce(awsError('InternalServiceError', 'boom')).resolves({ SecretString: SECRET });
      serveTotpKeys();
      expect(await rejection(getDeps())).toBeInstanceOf(DependencyError);

      const [first, second] = await Promise.all([getDeps(), getDeps()]);
      expect(first).toBe(second);
      expect(await getDeps()).toBe(first);
      expect(first.store).toBeInstanceOf(DynamoDbStore);
      expect(first.settings.issuer).toBe(ENV.ISSUER);
      expect(secrets.commandCalls(GetSecretValueCommand).filter((call) => call.args[0].input.SecretId === ENV.HASH_KEY_SECRET_ARN)).toHaveLength(2);
    });
  });
});

describe('configuration', () => {
  it('reports every missing key in one error', () => {
    const error = (() => {
      try {
        parseConfig({});
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([
      'TABLE_NAME is missing',
      'ISSUER is missing',
      'KMS_KEY_ID is missing',
      'SIGNING_PUBLIC_KEYS is missing',
      'HASH_KEY_SECRET_ARN is missing',
      'TOTP_KEY_SECRET_ARN is missing',
      'USER_TOKEN_KEY_SECRET_ARN is missing',
      'SES_FROM_ADDRESS is missing',
    ]);
  });

  it('reports invalid values by name without echoing them', () => {
    const bad = { ...ENV, ISSUER: 'ftp://files.example', SES_FROM_ADDRESS: 'not-an-address', SMS_SENDER_ID: '1234567', LOG_LEVEL: 'trace' };
    expect(() => parseConfig(bad)).toThrow(ConfigError);
    try {
      parseConfig(bad);
    } catch (e) {
      const error = e as ConfigError;
      expect(error.problems.map((p) => p.split(' ')[0])).toEqual(['ISSUER', 'SES_FROM_ADDRESS', 'SMS_SENDER_ID', 'LOG_LEVEL']);
      for (const value of ['ftp://files.example', 'not-an-address', '1234567', 'trace']) expect(error.message).not.toContain(value);
    }
  });

  it('fills the defaults, treats empty optional variables as unset and returns a frozen object', () => {
    const config = parseConfig({
      ...ENV,
      ISSUER: 'https://abc123.execute-api.us-east-1.amazonaws.com/',
      SMS_SENDER_ID: '',
      SES_CONFIGURATION_SET: '',
      LOG_LEVEL: undefined,
    });
    expect(config).toEqual({
      tableName: 'twofold-sessions',
      kms: { keyId: CURRENT.keyId, publicKeys: [jwkFromSpki(CURRENT.spki), jwkFromSpki(PREVIOUS.spki)] },
      hashKeySecretArn: ENV.HASH_KEY_SECRET_ARN,
      totpKeys: { secretArn: ENV.TOTP_KEY_SECRET_ARN, ids: ['1'] },
      userTokenKeys: { secretArn: ENV.USER_TOKEN_KEY_SECRET_ARN, ids: ['1'] },
      ses: { fromAddress: 'no-reply@twofold.example' },
      sms: {},
      delivery: {},
      logLevel: 'info',
      settings: { issuer: 'https://abc123.execute-api.us-east-1.amazonaws.com', appName: 'Twofold', tokenTtlSeconds: 3600, scrypt: { N: 2 ** 17, r: 8, p: 1 } },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.settings.scrypt)).toBe(true);
    expect(Object.isFrozen(config.kms.publicKeys[0])).toBe(true);
  });

  it('refuses public keys that are not what the deploy put in, naming the variable', () => {
    const current = jwkFromSpki(CURRENT.spki);
    for (const keys of ['not json', '[]', JSON.stringify([{ ...current, kid: 'forged' }]), JSON.stringify([current, current]), JSON.stringify([{ kty: 'RSA', n: 'x', e: 'AQAB' }])]) {
      expect(() => parseConfig({ ...ENV, SIGNING_PUBLIC_KEYS: keys }), keys).toThrow(/SIGNING_PUBLIC_KEYS is invalid/);
    }
  });
});
