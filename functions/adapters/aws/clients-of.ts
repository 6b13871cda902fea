/**
 * Which AWS SDK clients the function of a route constructs, decided from what
 * its route table entry declares (functions/access.ts) as the bundling does
 * (lib/constructs/endpoint-function.ts `bundleDefines`): the table for
 * DynamoDB, signing for KMS (verifiers use the public keys put in at deploy
 * time), its secrets for Secrets Manager, sends for SES and SNS, and audit
 * events for EventBridge only in a stack that sends them to a bus (off by
 * default). `npm run bench` measures each function against a floor of exactly
 * these.
 */
import { needsOf, type Capability } from '../../access.js';
import type { RouteDefinition } from '../../routes.js';

export type AwsClientName = 'dynamodb' | 'kms' | 'secretsmanager' | 'ses' | 'sns' | 'eventbridge';

export function awsClientsOf(route: RouteDefinition, settings: { auditEvents?: boolean } = {}): AwsClientName[] {
  const needs = needsOf(route);
  const has = (capability: Capability) => needs.capabilities.has(capability);
  const clients: AwsClientName[] = [];
  if (needs.read.size > 0 || needs.write.size > 0) clients.push('dynamodb');
  if (has('sign')) clients.push('kms');
  if (has('hash-key') || has('totp-key') || has('user-token-key')) clients.push('secretsmanager');
  if (has('email')) clients.push('ses');
  if (has('sms')) clients.push('sns');
  if (has('audit') && settings.auditEvents === true) clients.push('eventbridge');
  return clients;
}
