/**
 * `npm run openapi`: writes docs/openapi.json from the route table and the
 * schemas that validate requests. A test fails when the committed file is
 * stale, so the document in the repository is always the one served.
 */
import { writeFileSync } from 'node:fs';
import { buildOpenApiDocument } from '../functions/http/openapi.js';

export const OPENAPI_PATH = new URL('../docs/openapi.json', import.meta.url);

const document = `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
writeFileSync(OPENAPI_PATH, document);
const paths = Object.keys((JSON.parse(document) as { paths: object }).paths).length;
process.stdout.write(`wrote docs/openapi.json (${paths} paths)\n`);
