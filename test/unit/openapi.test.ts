import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../functions/http/openapi.js';
import { routes } from '../../functions/routes.js';

describe('docs/openapi.json', () => {
  it('is the document generated from the route table (run `npm run openapi` after changing a route or schema)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(buildOpenApiDocument());
  });

  it('has one operation per route, each with its error codes', () => {
    const doc = buildOpenApiDocument() as { paths: Record<string, Record<string, { operationId: string; responses: Record<string, { description: string }> }>> };
    const operations = Object.values(doc.paths).flatMap((p) => Object.values(p));
    expect(operations.map((o) => o.operationId).sort()).toEqual(routes.map((r) => r.name).sort());
    for (const route of routes) {
      const op = doc.paths[route.path]![route.method.toLowerCase()]!;
      for (const error of route.errors ?? []) expect(op.responses[String(error.status)]?.description).toContain(error.code);
    }
  });
});
