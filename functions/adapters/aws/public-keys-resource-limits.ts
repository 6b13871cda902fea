/**
 * How long the deploy-time public keys resource (public-keys-resource.ts)
 * may take, shared by the handler and its construct
 * (lib/constructs/published-keys.ts), and the version of what it answers.
 * Free of the AWS SDK: the CDK app imports it.
 *
 * A brand-new KMS key can answer NotFoundException for a few seconds, and a
 * brand-new IAM grant AccessDeniedException, so the resource retries them
 * for RETRY_BUDGET_MS; the Lambda timeout fits that budget, the longest
 * single call, and the margin kept to answer CloudFormation
 * (test/infra/stack.test.ts holds the sum under the timeout).
 */

/**
 * The version of the resource's answer (the `Keys` attribute and what each
 * JWK in it holds). It is one of the resource's properties, so raising it
 * makes CloudFormation run the resource again on the next deploy: raise it
 * whenever the answer changes. test/unit/public-keys-resource.test.ts pins
 * the answer's shape to this number.
 */
export const PUBLIC_KEYS_FORMAT_VERSION = '2';

/** How long KMS and IAM get to make a new key or grant visible: retries stop starting after this. */
export const RETRY_BUDGET_MS = 150_000;
/** The first retry waits about this long; each later one twice as long, up to MAX_RETRY_DELAY_MS. */
export const FIRST_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 10_000;
/** Kept back from the Lambda deadline to log and answer CloudFormation (its PUT retried). */
export const RESOURCE_ANSWER_MARGIN_MS = 20_000;
/** The Lambda timeout of the deploy-time function. */
export const RESOURCE_TIMEOUT_SECONDS = 240;
/**
 * How long CloudFormation waits for an answer before failing the resource
 * (`ServiceTimeout`; an hour without it): the function always answers before
 * its own timeout, so this only matters if it cannot run at all.
 */
export const RESOURCE_SERVICE_TIMEOUT_SECONDS = 600;
