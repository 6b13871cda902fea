/**
 * Which AWS SDK clients the function of a route constructs, decided from the
 * route table: the wiring builds exactly these, and `npm run bench` measures
 * each function against a floor of exactly these.
 */
import type { RouteDefinition } from '../../routes.js';

export type AwsClientName = 'dynamodb' | 'kms' | 'secretsmanager' | 'ses' | 'sns' | 'eventbridge';

export function awsClientsOf(route: RouteDefinition): AwsClientName[] {
  const clients: AwsClientName[] = ['dynamodb', 'kms', 'secretsmanager'];
  if (route.capabilities?.includes('email')) clients.push('ses');
  if (route.capabilities?.includes('sms')) clients.push('sns');
  return clients;
}
