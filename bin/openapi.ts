/**
 * `npm run openapi`: writes docs/openapi.json from the route table and the
 * schemas that validate requests, and docs/openapi-types.d.ts, the TypeScript
 * types openapi-typescript generates from it (what examples/typed-client.ts
 * and any typed client use). Tests fail when either committed file is stale,
 * so the repository always holds what the server serves.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';
import { buildOpenApiDocument } from '../functions/http/openapi.js';

export const OPENAPI_PATH = new URL('../docs/openapi.json', import.meta.url);
export const OPENAPI_TYPES_PATH = new URL('../docs/openapi-types.d.ts', import.meta.url);

/** The TypeScript types of an OpenAPI document, as `openapi-typescript` writes them. */
export async function openApiTypes(document: object): Promise<string> {
  const ast = await openapiTS(structuredClone(document) as OpenAPI3, { silent: true });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}

async function main(): Promise<void> {
  const document = buildOpenApiDocument();
  writeFileSync(OPENAPI_PATH, `${JSON.stringify(document, null, 2)}\n`);
  writeFileSync(OPENAPI_TYPES_PATH, await openApiTypes(document));
  process.stdout.write(`wrote docs/openapi.json (${Object.keys(document.paths as object).length} paths) and docs/openapi-types.d.ts\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
