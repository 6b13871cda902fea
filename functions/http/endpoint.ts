/**
 * The HTTP edge of every endpoint: a middy handler with our middlewares —
 * error mapping, request log, body parsing with the 16 KiB limit, schema
 * validation from the route table, and client authentication. A handler module
 * is `endpoint('route-name', fn)`, where `fn` makes one call into the core.
 */
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod/mini';
import { restrictDeps } from '../access.js';
import { authenticateClientToken } from '../core/clients.js';
import { authenticateUserToken, type UserPrincipal } from '../core/user-tokens.js';
import type { Deps } from '../core/deps.js';
import type { ClientRecord } from '../core/model.js';
import { ANSWER_MARGIN_MS, deadlineFor, withDeadline } from '../deadline.js';
import { maskContacts } from '../adapters/logger.js';
import { ConflictError, DependencyError, InvalidInputError, OAuthError, TwofoldError, UnauthorizedError } from '../errors.js';
import { routeNamed, type RouteDefinition } from '../routes.js';
import { getDeps } from '../runtime.js';
import { LIMITS, type Lazy, type Parsed } from './schemas.js';

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

/**
 * What a handler receives. `B` and `P` are the parsed body and path parameters
 * (`z.output<typeof Schema>` of the route's schemas); `client` is set on
 * routes with `auth: 'client'` or `'user'`; `principal` (the live session and
 * user behind the token) on routes with `auth: 'user'`.
 */
export interface EndpointInput<B = undefined, P = undefined> {
  deps: Deps;
  event: APIGatewayProxyEventV2;
  client: ClientRecord;
  principal: UserPrincipal;
  body: B;
  params: P;
}

interface State {
  deps?: Deps;
  client?: ClientRecord;
  principal?: UserPrincipal;
  body?: unknown;
  params?: unknown;
  started: number;
}

type Request = middy.Request<APIGatewayProxyEventV2, HttpResult, Error, Context>;

/** Per-invocation state shared by the middlewares and the handler, keyed by the event object. */
const states = new WeakMap<APIGatewayProxyEventV2, State>();
function stateOf(request: Request): State {
  let state = states.get(request.event);
  if (!state) {
    state = { started: Date.now() };
    states.set(request.event, state);
  }
  return state;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function noContent(): HttpResult {
  return { statusCode: 204, headers: { 'Cache-Control': 'no-store' } };
}

/** Maps errors to the contract's body; unexpected ones become a generic 500, detail only in the log. */
function errorMapping(route: RouteDefinition): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    onError: async (request) => {
      const error = request.error;
      const logger = stateOf(request).deps?.logger;
      if (error instanceof OAuthError) {
        request.response = json(error.status, { error: error.code, error_description: error.message }, error.headers);
      } else if (error instanceof TwofoldError) {
        request.response = json(error.status, { error_code: error.code, message: error.message }, error.headers);
      } else if (error instanceof ConflictError) {
        // A record kept changing under us through every retry: contention, not bad input.
        logger?.warn('write contention', { route: route.name });
        request.response = json(503, { error_code: 'service_unavailable', message: 'The resource is busy; retry' }, { 'Retry-After': '1' });
      } else if (error instanceof DependencyError) {
        logger?.error('dependency failure', { route: route.name, dependency: error.dependency, cause: describe(error.cause) });
        request.response = json(503, { error_code: 'service_unavailable', message: 'A dependency is unavailable; retry later' }, { 'Retry-After': '1' });
      } else {
        logger?.error('unhandled error', { route: route.name, error: describe(error) });
        if (!logger) console.error(maskContacts(JSON.stringify({ level: 'error', msg: 'unhandled error', route: route.name, error: describe(error) })));
        request.response = json(500, { error_code: 'internal_error', message: 'Internal error' });
      }
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** One log line per request: route, status, latency. Never bodies, tokens or query strings. */
function requestLog(route: RouteDefinition): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  const log = (request: Request) => {
    const state = stateOf(request);
    state.deps?.logger.info('request', {
      route: route.name,
      status: request.response?.statusCode,
      ms: Date.now() - state.started,
      client_id: state.client?.client_id,
      request_id: request.event.requestContext?.requestId,
    });
  };
  return {
    before: async (request) => {
      // The handler gets only what its route declares, as its IAM role allows in AWS.
      stateOf(request).deps = restrictDeps(await getDeps(route), route);
    },
    after: async (request) => log(request),
    onError: async (request) => {
      // errorMapping was registered first, so its onError runs last: compute the status it will give.
      log({ ...request, response: request.response ?? { statusCode: statusOf(request.error) } });
    },
  };
}

/** A request header, by case-insensitive name. */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function readBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > LIMITS.bodyBytes) throw new InvalidInputError(`The body is larger than ${LIMITS.bodyBytes} bytes`);
  const text = raw.toString('utf8');
  const type = (header(event, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidInputError('The body is not valid JSON');
  }
}

/**
 * Path parameters exactly as API Gateway delivers them, never decoded again.
 * AWS's "Create routes for HTTP APIs in API Gateway" guide
 * (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html)
 * says: "API Gateway decodes URL-encoded request parameters before passing
 * them to your backend integration." So `pathParameters` of a payload 2.0
 * event is already decoded once; decoding it here as well would turn
 * `/users/username/%2561dmin` into `admin`. The local server decodes once,
 * the same way (functions/adapters/local/server.ts).
 */
function decodeParams(params: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Describes validation issues by field, without echoing the submitted values (they may be secrets). */
function describeIssues(where: string, error: z.core.$ZodError): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : where;
    return `${path}: ${issue.message}`;
  });
  return `Invalid ${where}: ${parts.join('; ')}`;
}

/**
 * The schemas a handler validates with: exactly the ones its route names
 * (`body`, `params`). The handler imports them itself, so its function's
 * bundle holds its own route's schemas and no other's.
 */
export interface RouteSchemas<B extends Lazy | undefined = Lazy | undefined, P extends Lazy | undefined = Lazy | undefined> {
  body?: B;
  params?: P;
}

type ParsedOf<L> = L extends Lazy ? Parsed<L> : undefined;

/** A handler passes the schemas its route names, no more and no fewer (tests check they are the very ones). */
function checkSchemas(route: RouteDefinition, schemas: RouteSchemas): void {
  for (const part of ['body', 'params'] as const) {
    if (Boolean(route[part]) !== Boolean(schemas[part])) {
      const named = route[part] ? `names the ${part} schema ${route[part]}` : `names no ${part} schema`;
      throw new Error(`route ${route.name} ${named} in functions/routes.ts: its handler must pass endpoint() the same`);
    }
  }
}

function validation(route: RouteDefinition, schemas: RouteSchemas): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    before: async (request) => {
      const state = stateOf(request);
      if (schemas.params) {
        const parsed = schemas.params().safeParse(decodeParams(request.event.pathParameters));
        if (!parsed.success) throw new InvalidInputError(describeIssues('path', parsed.error));
        state.params = parsed.data;
      }
      if (schemas.body) {
        const body = readBody(request.event) ?? (route.bodyOptional ? {} : undefined);
        if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw new InvalidInputError('The body must be a JSON object');
        }
        const parsed = schemas.body().safeParse(body);
        if (!parsed.success) throw new InvalidInputError(describeIssues('body', parsed.error));
        state.body = parsed.data;
      }
    },
  };
}

/** The bearer token of the request, or 401. */
function bearerToken(event: APIGatewayProxyEventV2): string {
  const authorization = header(event, 'authorization') ?? '';
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization);
  if (!match) throw new UnauthorizedError();
  return match[1]!;
}

function clientAuthentication(): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    before: async (request) => {
      const state = stateOf(request);
      state.client = await authenticateClientToken(state.deps!, bearerToken(request.event));
    },
  };
}

function userAuthentication(): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    before: async (request) => {
      const state = stateOf(request);
      state.principal = await authenticateUserToken(state.deps!, bearerToken(request.event));
      state.client = state.principal.client;
    },
  };
}

function statusOf(error: unknown): number {
  if (error instanceof TwofoldError) return error.status;
  if (error instanceof DependencyError || error instanceof ConflictError) return 503;
  return 500;
}

export type EndpointHandler = ((event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>) & {
  /** The schemas it validates with (read by the test that holds them to the route table). */
  readonly schemas: RouteSchemas;
};

/**
 * Builds the Lambda handler of one route of the route table, validating with
 * `schemas`: the ones the route names, imported from functions/http/schemas.ts.
 * The handler's `body` and `params` are what they parse to.
 */
export function endpoint(name: string, fn: (input: EndpointInput) => Promise<HttpResult>): EndpointHandler;
export function endpoint<B extends Lazy | undefined = undefined, P extends Lazy | undefined = undefined>(
  name: string,
  schemas: RouteSchemas<B, P>,
  fn: (input: EndpointInput<ParsedOf<B>, ParsedOf<P>>) => Promise<HttpResult>,
): EndpointHandler;
export function endpoint(
  name: string,
  schemasOrFn: RouteSchemas | ((input: EndpointInput<any, any>) => Promise<HttpResult>),
  maybeFn?: (input: EndpointInput<any, any>) => Promise<HttpResult>,
): EndpointHandler {
  const schemas = typeof schemasOrFn === 'function' ? {} : schemasOrFn;
  const fn = typeof schemasOrFn === 'function' ? schemasOrFn : maybeFn!;
  const route = routeNamed(name);
  checkSchemas(route, schemas);
  const handler = middy<APIGatewayProxyEventV2, HttpResult, Error, Context>({
    // The last resort if the handler itself (not a dependency call) runs too long: a 503, not a Lambda timeout.
    timeoutEarlyInMillis: ANSWER_MARGIN_MS / 2,
    timeoutEarlyResponse: () => {
      throw new DependencyError('deadline');
    },
  })
    .use(errorMapping(route))
    .use(requestLog(route));
  // Authenticate before validating, so an unauthenticated caller learns nothing about the schema.
  if (route.auth === 'client') handler.use(clientAuthentication());
  if (route.auth === 'user') handler.use(userAuthentication());
  handler.use(validation(route, schemas));
  const run = handler.handler(async (event) => {
    const state = states.get(event)!;
    return fn({ deps: state.deps!, event, client: state.client!, principal: state.principal!, body: state.body, params: state.params });
  });
  // Every dependency call of this invocation, cold-start wiring included, is due before the Lambda timeout.
  const invoke = (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResult> => {
    const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
    return withDeadline(deadlineFor(remaining), () => run(event, context));
  };
  return Object.assign(invoke, { schemas });
}
