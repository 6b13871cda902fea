/**
 * Which AWS SDK clients the function of a route needs, decided from what its
 * route table entry declares (functions/access.ts): the table for DynamoDB,
 * the public keys or signing for KMS, its secrets for Secrets Manager, sends
 * for SES and SNS. `npm run bench` measures each function against a floor of
 * exactly these. EventBridge is not counted: audit events go to the log
 * unless a deployment turns the bus on (off by default).
 */
import { needsOf } from '../../access.js';
import type { RouteDefinition } from '../../routes.js';

export type AwsClientName = 'dynamodb' | 'kms' | 'secretsmanager' | 'ses' | 'sns';

export function awsClientsOf(route: RouteDefinition): AwsClientName[] {
  const needs = needsOf(route);
  const has = (capability: Parameters<typeof needs.capabilities.has>[0]) => needs.capabilities.has(capability);
  const clients: AwsClientName[] = [];
  if (needs.read.size > 0 || needs.write.size > 0) clients.push('dynamodb');
  if (has('public-keys') || has('sign')) clients.push('kms');
  if (has('hash-key') || has('totp-key')) clients.push('secretsmanager');
  if (has('email')) clients.push('ses');
  if (has('sms')) clients.push('sns');
  return clients;
}
