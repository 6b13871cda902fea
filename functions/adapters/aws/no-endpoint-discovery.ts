/**
 * Stands in for `@aws-sdk/middleware-endpoint-discovery` in Lambda bundles (an
 * esbuild alias, lib/constructs/endpoint-function.ts). The DynamoDB client
 * resolves an endpoint-discovery configuration, an LRU cache of 1000
 * discovered endpoints (mnemonist) included, but no command of the SDK we ship
 * adds the discovery middleware that would read it (test/infra/bundles.test.ts
 * fails if SDK code ever imports more from this module), and DynamoDB answers
 * on its regional endpoint without discovery. About 8 KB less per DynamoDB
 * bundle, and no cache to build at cold start.
 */
interface DiscoveryInput {
  endpointDiscoveryEnabled?: boolean;
  endpointDiscoveryEnabledProvider?: () => Promise<boolean | undefined>;
}

/** The configuration the client expects, without the endpoint cache nothing reads. */
export const resolveEndpointDiscoveryConfig = <T extends DiscoveryInput>(input: T, { endpointDiscoveryCommandCtor }: { endpointDiscoveryCommandCtor: unknown }) =>
  Object.assign(input, {
    endpointDiscoveryCommandCtor,
    endpointDiscoveryEnabled: input.endpointDiscoveryEnabled !== undefined ? () => Promise.resolve(input.endpointDiscoveryEnabled) : input.endpointDiscoveryEnabledProvider,
    isClientEndpointDiscoveryEnabled: input.endpointDiscoveryEnabled !== undefined,
  });

/** Discovery is never on: nothing in the environment or the config files is read for it. */
export const NODE_ENDPOINT_DISCOVERY_CONFIG_OPTIONS = {
  environmentVariableSelector: (): undefined => undefined,
  configFileSelector: (): undefined => undefined,
  default: undefined,
};
