/**
 * The route table names each route's schemas; each handler imports and passes
 * them itself, so its function's bundle carries no other route's. These tests
 * hold the two together: a handler validates with exactly the schemas the
 * OpenAPI document shows for its route.
 */
import { describe, expect, it } from 'vitest';
import { endpoint, json, type RouteSchemas } from '../../functions/http/endpoint.js';
import * as schemas from '../../functions/http/schemas.js';
import { routes } from '../../functions/routes.js';

describe('the schemas each handler validates with', () => {
  it.each(routes.map((route) => [route.name, route] as const))('%s: exactly the ones its route names', async (_name, route) => {
    const { handler } = (await import(`../../functions/handlers/${route.name}.ts`)) as { handler: { schemas?: RouteSchemas } };
    const given = handler.schemas ?? {};
    expect(given.body).toBe(route.body ? schemas[route.body] : undefined);
    expect(given.params).toBe(route.params ? schemas[route.params] : undefined);
  });

  it('a handler that leaves out a schema its route names is refused when it is built', () => {
    expect(() => endpoint('users-get', async () => json(200, {}))).toThrow(/route users-get names the params schema UserIdParams/);
  });

  it('a handler that passes a schema its route does not name is refused when it is built', () => {
    expect(() => endpoint('users-get', { params: schemas.UserIdParams, body: schemas.TrueResult }, async () => json(200, {}))).toThrow(
      /route users-get names no body schema/,
    );
  });

  it('a schema is built once, on first use, and reused after', () => {
    expect(schemas.EmailParams()).toBe(schemas.EmailParams());
  });
});
