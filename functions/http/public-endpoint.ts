/**
 * The edge of the public metadata routes (discovery, the OpenAPI document,
 * the JWKS): no client token, no body, no store, no AWS call; only the issuer
 * or the public keys put in at deploy time. They skip the middy stack and the
 * dependency wiring on purpose, so their functions load none of the AWS SDK,
 * zod or jose and cold-start like an empty handler.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { publicSettings, type PublicSettings } from '../public-settings.js';

type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

/** A public GET route answering a JSON document built from the settings. */
export function publicDocument(name: string, build: (settings: PublicSettings) => unknown) {
  return publicJson(name, async () => build(await publicSettings()));
}

/** A public GET route answering the JSON document `build` returns. */
export function publicJson(name: string, build: () => Promise<unknown>) {
  return async (_event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      const body = await build();
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' },
        body: JSON.stringify(body),
      };
    } catch (error) {
      // A deployment mistake (no ISSUER, no public keys), never the caller's: detail in the log only.
      console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', route: name, error: error instanceof Error ? error.message : String(error) }));
      return { statusCode: 500, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, body: JSON.stringify({ error_code: 'internal_error', message: 'Internal error' }) };
    }
  };
}
