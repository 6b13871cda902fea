/**
 * KMS and IAM as a deploy meets them, simulated on a clock the test moves:
 * a key created moments ago is not found yet, a grant made moments ago is not
 * honoured yet (both are eventually consistent), a removed grant stops at
 * once, and a key scheduled for deletion refuses everything. It answers the
 * two commands Twofold sends, GetPublicKey and Sign, through
 * aws-sdk-client-mock; each KMSClient it hands out acts as one IAM principal.
 */
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { FakeKmsKey } from './fake-kms-key.js';

export type KmsAction = 'kms:GetPublicKey' | 'kms:Sign';

/** How long a new key and a new grant stay invisible. */
export interface Propagation {
  keyMs: number;
  grantMs: number;
}

function kmsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status, requestId: 'simulated' } });
}

export class SimulatedKms {
  /** The simulated time, epoch ms; move it with `advance`. */
  now = Date.UTC(2026, 0, 15, 12, 0, 0);
  readonly mock = mockClient(KMSClient);
  private readonly keys = new Map<string, { key: FakeKmsKey; createdAt: number; pendingDeletion: boolean }>();
  /** principal -> action -> key ARN -> when granted. */
  private readonly grants = new Map<string, Map<KmsAction, Map<string, number>>>();
  private readonly principals = new WeakMap<object, string>();
  /** Every answer KMS gave, in order: for assertions on what was refused. */
  readonly answers: Array<{ at: number; principal: string; command: 'GetPublicKey' | 'Sign'; keyId: string; outcome: string }> = [];

  constructor(readonly propagation: Propagation = { keyMs: 5_000, grantMs: 10_000 }) {
    this.mock.on(GetPublicKeyCommand).callsFake((input: { KeyId: string }, getClient) => {
      const principal = this.principalOf(getClient());
      const key = this.check(principal, 'kms:GetPublicKey', input.KeyId, 'GetPublicKey');
      return { KeyId: input.KeyId, PublicKey: key.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' };
    });
    this.mock.on(SignCommand).callsFake((input: { KeyId: string; Message: Uint8Array; SigningAlgorithm: string; MessageType: string }, getClient) => {
      const principal = this.principalOf(getClient());
      if (input.SigningAlgorithm !== 'ECDSA_SHA_256' || input.MessageType !== 'DIGEST') throw kmsError('AccessDeniedException', 'condition not met');
      const key = this.check(principal, 'kms:Sign', input.KeyId, 'Sign');
      return { KeyId: input.KeyId, Signature: key.signDigest(input.Message), SigningAlgorithm: 'ECDSA_SHA_256' };
    });
  }

  advance(ms: number): void {
    this.now += ms;
  }

  /** A KMS client whose calls are made as `principal` (a function's role). */
  clientFor(principal: string): KMSClient {
    const client = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'simulated', secretAccessKey: 'simulated' } });
    this.principals.set(client, principal);
    return client;
  }

  createKey(arn: string): FakeKmsKey {
    const key = new FakeKmsKey(arn);
    this.keys.set(arn, { key, createdAt: this.now, pendingDeletion: false });
    return key;
  }

  scheduleKeyDeletion(arn: string): void {
    this.keys.get(arn)!.pendingDeletion = true;
  }

  /**
   * Sets what `principal` may do, as an IAM policy update does: grants it
   * already had keep their age, new ones start propagating now, dropped ones
   * end at once (the worst case for a function still using them).
   */
  setGrants(principal: string, action: KmsAction, keyArns: readonly string[]): void {
    const byAction = this.grants.get(principal) ?? new Map<KmsAction, Map<string, number>>();
    const before = byAction.get(action) ?? new Map<string, number>();
    byAction.set(action, new Map(keyArns.map((arn) => [arn, before.get(arn) ?? this.now])));
    this.grants.set(principal, byAction);
  }

  private principalOf(client: object): string {
    const principal = this.principals.get(client);
    if (!principal) throw new Error('a KMS client not made by SimulatedKms.clientFor');
    return principal;
  }

  private check(principal: string, action: KmsAction, keyId: string, command: 'GetPublicKey' | 'Sign'): FakeKmsKey {
    const refuse = (name: string, message: string) => {
      this.answers.push({ at: this.now, principal, command, keyId, outcome: name });
      return kmsError(name, message);
    };
    const granted = this.grants.get(principal)?.get(action)?.get(keyId);
    // IAM is checked first: a principal without a (visible) grant learns nothing about the key.
    if (granted === undefined || this.now - granted < this.propagation.grantMs) throw refuse('AccessDeniedException', `${principal} is not authorized to perform ${action} on ${keyId}`);
    const entry = this.keys.get(keyId);
    if (!entry || this.now - entry.createdAt < this.propagation.keyMs) throw refuse('NotFoundException', `Key '${keyId}' does not exist`);
    if (entry.pendingDeletion) throw refuse('KMSInvalidStateException', `${keyId} is pending deletion`);
    this.answers.push({ at: this.now, principal, command, keyId, outcome: 'ok' });
    return entry.key;
  }
}
