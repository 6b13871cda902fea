import { DependencyError } from '../../errors.js';

/**
 * Wraps an AWS SDK failure as DependencyError (503). The cause keeps the error
 * name, HTTP status and request id for the log, but not the SDK's message:
 * SES and SNS messages can quote recipients, and nothing a caller sent (codes,
 * links, addresses) belongs in a log line.
 */
/**
 * SES and SNS errors that refuse the message itself, so a retry cannot help
 * (the delivery sender dead-letters them at once): a rejected or malformed
 * message or address, a number SNS cannot or may not reach. Throttling,
 * outages and timeouts are not among them: those are retried.
 */
export const PERMANENT_DELIVERY_ERRORS: ReadonlySet<string> = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'ConfigurationSetDoesNotExistException',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'InvalidParameter',
  'InvalidParameterValue',
  'OptedOutException',
  'EndpointDisabledException',
]);

export function dependencyFailure(dependency: string, error: unknown): DependencyError {
  const e = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const details = [e.$metadata?.httpStatusCode && `HTTP ${e.$metadata.httpStatusCode}`, e.$metadata?.requestId && `request ${e.$metadata.requestId}`]
    .filter(Boolean)
    .join(', ');
  const cause = new Error(details ? `${dependency} ${name} (${details})` : `${dependency} ${name}`);
  cause.name = name;
  return new DependencyError(dependency, { cause, permanent: PERMANENT_DELIVERY_ERRORS.has(name) });
}
