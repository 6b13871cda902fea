/**
 * Stands in for `@smithy/core/event-streams` in Lambda bundles (an esbuild
 * alias, lib/constructs/endpoint-function.ts). The SDK's HTTP protocols load
 * it with a dynamic import only to send or read an event stream, which no
 * Twofold call does (DynamoDB, KMS Sign, SES, SNS, Secrets Manager, EventBridge
 * PutEvents); a dynamic import cannot be tree-shaken, so every bundle carried
 * about 19 KB of event-stream code. Reaching it means an operation with an
 * event stream was added: fail loudly rather than mis-serialize.
 */
const unsupported = (): never => {
  throw new Error('event streams are not bundled (lib/constructs/endpoint-function.ts bundleAliases)');
};

export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}

export const eventStreamSerdeProvider = unsupported;
