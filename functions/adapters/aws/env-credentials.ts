/**
 * Stands in for `@aws-sdk/credential-provider-node` in Lambda bundles (an
 * esbuild alias, lib/constructs/endpoint-function.ts): Lambda hands every
 * function its role's credentials in the environment, so the default chain's
 * other providers (SSO, INI files, web identity, IMDS, process) and the STS
 * and SSO clients they pull in are dead weight at every cold start.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (_init?: unknown) => fromEnv();
