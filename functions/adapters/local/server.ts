/**
 * The local HTTP server: the same handlers as in Lambda, reached through the
 * same route table, with API Gateway HTTP API (payload 2.0) events built from
 * plain node:http requests. Adds GET /local/outbox and the step-up demo at
 * /local/demo (see demo.ts), which exist only here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createClient, getClient } from '../../core/clients.js';
import { FUNCTION_TIMEOUT_SECONDS } from '../../deadline.js';
import type { SealKeyring } from '../../core/crypto.js';
import type { CoreSettings, Deps } from '../../core/deps.js';
import type { HttpResult } from '../../http/endpoint.js';
import type { Clock, Logger, Signer } from '../../ports.js';
import { routes, type RouteDefinition } from '../../routes.js';
import { installDeps } from '../../runtime.js';
import { DynamoDbStore } from '../aws/dynamodb-store.js';
import { LogAudit } from '../audit-log.js';
import { jsonLogger } from '../logger.js';
import { createDemo } from './demo.js';
import { startEmbeddedDynamoDb } from './embedded-dynamodb.js';
import { LocalDeliveryQueue } from './local-queue.js';
import { LocalSigner } from './local-signer.js';
import { Outbox } from './outbox.js';

export const LOCAL_TABLE_NAME = 'twofold-local';

export const OWASP_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;

export interface LocalServerOptions {
  port?: number;
  host?: string;
  /** Base URL used as issuer; defaults to the listening address. */
  issuer?: string;
  tableName?: string;
  /** Another DynamoDB-compatible endpoint instead of the embedded one. */
  dynamoEndpoint?: string;
  /** Port of the embedded DynamoDB (0: any free port), so `npm run client` can reach it. */
  dynamoPort?: number;
  clock?: Clock;
  logger?: Logger;
  /**
   * The client seeded at start. Its passkey settings default to RP ID
   * `localhost` and origin `http://localhost:<port>`, the demo page's.
   * The demo at /local/demo acts as this client.
   */
  seedClient?: { client_id: string; client_secret: string; redirect_uris: string[]; webauthn_rp_id?: string; webauthn_origins?: string[] } | false;
  settings?: Partial<CoreSettings>;
  /** The signing keys (a rotation's phases); a fresh local key per start by default. */
  signer?: Signer;
  /** The TOTP keyring; a fresh random key per start by default. */
  totpKeys?: SealKeyring;
  /** The Lambda timeout each request runs under. @default FUNCTION_TIMEOUT_SECONDS */
  functionTimeoutSeconds?: number;
}

export interface LocalServer {
  url: string;
  deps: Deps;
  outbox: Outbox;
  queue: LocalDeliveryQueue;
  dynamoEndpoint: string;
  close(): Promise<void>;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  names: string[];
  literals: number;
}

function compile(route: RouteDefinition): CompiledRoute {
  const names: string[] = [];
  const segments = route.path.split('/').filter(Boolean);
  const source = segments
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param) {
        names.push(param[1]!);
        return '/([^/]+)';
      }
      return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
    })
    .join('');
  return { route, pattern: new RegExp(`^${source}/?$`), names, literals: segments.length - names.length };
}

/** Literal segments win over parameters, as in API Gateway. */
const compiled = routes.map(compile).sort((a, b) => b.literals - a.literals);

export function matchRoute(method: string, path: string): { route: RouteDefinition; params: Record<string, string> } | 'method_not_allowed' | undefined {
  let pathMatched = false;
  for (const c of compiled) {
    const m = c.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (c.route.method !== method) continue;
    const params: Record<string, string> = {};
    c.names.forEach((name, i) => {
      params[name] = m[i + 1]!;
    });
    return { route: c.route, params };
  }
  return pathMatched ? 'method_not_allowed' : undefined;
}

const handlers = new Map<string, Promise<Handler>>();
function loadHandler(name: string): Promise<Handler> {
  let handler = handlers.get(name);
  if (!handler) {
    // The local server always runs from source (tsx, vitest), so the handler is the .ts file.
    const file = new URL(`../../handlers/${name}.ts`, import.meta.url).href;
    handler = import(/* @vite-ignore */ file).then((m: { handler: Handler }) => m.handler);
    handlers.set(name, handler);
  }
  return handler;
}

/** Reads at most `limit` bytes; a larger body is cut off and flagged so the handler answers 400. */
async function readBody(req: IncomingMessage, limit: number): Promise<{ body: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      truncated = true;
      continue;
    }
    chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks).toString('utf8'), truncated };
}

/**
 * The request path decoded once, as API Gateway (HTTP API) does before it
 * matches routes: its path parameters and `rawPath` arrive decoded (see the
 * note in functions/http/endpoint.ts), so `%2F` splits segments like `/`,
 * and `%2561` becomes `%61`, never `a`. Undefined for malformed escapes.
 */
export function decodePath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
}

function toEvent(req: IncomingMessage, url: URL, path: string, route: RouteDefinition, params: Record<string, string>, body: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, key) => {
    query[key] = value;
  });
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath: path,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: Object.keys(params).length ? params : undefined,
    body: body === '' ? undefined : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method: route.method,
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${route.method} ${route.path}`,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

function send(res: ServerResponse, result: HttpResult): void {
  res.writeHead(result.statusCode, (result.headers ?? {}) as Record<string, string>);
  res.end(result.body ?? '');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, { statusCode: status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** A Lambda context per request: the time left runs down from the function timeout, as in AWS. */
function lambdaContext(timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return { functionName: 'local', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) } as unknown as Context;
}

/** Answers one request: the outbox, or a route of the route table through its Lambda handler. */
function handleRequest(outbox: Outbox, logger: Logger, demo: () => ReturnType<typeof createDemo> | undefined, timeoutSeconds: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://local');
      const method = (req.method ?? 'GET').toUpperCase();
      if (url.pathname === '/local/outbox' && method === 'GET') {
        sendJson(res, 200, { messages: outbox.list(url.searchParams.get('to') ?? undefined) });
        return;
      }
      const demoHandler = demo();
      if (url.pathname.startsWith('/local/demo') && demoHandler && (await demoHandler(req, res, url))) return;
      const path = decodePath(url.pathname);
      if (path === undefined) {
        sendJson(res, 400, { error_code: 'system_invalid_input', message: 'The path has a malformed percent-encoding' });
        return;
      }
      const matched = matchRoute(method, path);
      if (matched === undefined) {
        sendJson(res, 404, { error_code: 'not_found', message: `No route for ${method} ${url.pathname}` });
        return;
      }
      if (matched === 'method_not_allowed') {
        sendJson(res, 405, { error_code: 'method_not_allowed', message: `${method} is not allowed on ${url.pathname}` });
        return;
      }
      // Read a little more than the API's limit so an oversized body still reaches the handler's 400.
      const { body, truncated } = await readBody(req, 64 * 1024);
      const event = toEvent(req, url, path, matched.route, matched.params, truncated ? 'x'.repeat(64 * 1024 + 1) : body);
      const handler = await loadHandler(matched.route.name);
      send(res, await handler(event, lambdaContext(timeoutSeconds)));
    })().catch((error: unknown) => {
      logger.error('local server failure', { error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) sendJson(res, 500, { error_code: 'internal_error', message: 'Internal error' });
    });
  };
}

/** Starts the whole API locally: embedded store, local key, outbox, seeded client. */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const tableName = options.tableName ?? LOCAL_TABLE_NAME;
  const logger = options.logger ?? jsonLogger('info');
  const clock = options.clock ?? { now: () => Date.now() };
  const dynamo = await startEmbeddedDynamoDb(tableName, options.dynamoEndpoint ?? process.env.DYNAMODB_ENDPOINT, options.dynamoPort ?? 0);
  const outbox = new Outbox(clock);

  // The issuer is the listening address, known only once listening; requests that arrive before the
  // dependencies are wired wait for them instead of reaching a server with no request handler.
  let markReady!: () => void;
  let markFailed!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  ready.catch(() => {});
  let demo: ReturnType<typeof createDemo> | undefined;
  const answer = handleRequest(outbox, logger, () => demo, options.functionTimeoutSeconds ?? FUNCTION_TIMEOUT_SECONDS);
  const server: Server = createServer((req, res) => {
    ready.then(
      () => answer(req, res),
      () => sendJson(res, 503, { error_code: 'service_unavailable', message: 'The local server failed to start' }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const close = async () => {
    clearInterval(retries);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await dynamo.stop();
  };

  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  // Deliveries are made before the send answers, through the sender's own code; retries are handed over again every second.
  const queue = new LocalDeliveryQueue(() => deps);
  const retries = setInterval(() => void queue.redeliverDue().catch(() => {}), 1000);
  retries.unref();
  const deps: Deps = {
    store: new DynamoDbStore(dynamo.client, tableName),
    queue,
    mailer: outbox,
    sms: outbox,
    signer: options.signer ?? new LocalSigner(),
    clock,
    logger,
    audit: new LogAudit(logger),
    settings: { issuer: options.issuer ?? url, appName: 'Twofold', tokenTtlSeconds: 3600, scrypt: { ...OWASP_SCRYPT }, ...options.settings },
    // A fresh random key per start: codes from an earlier run never verify.
    hashKey: randomBytes(32),
    totpKeys: options.totpKeys ?? { current: '1', keys: { '1': randomBytes(32) } },
    // Like the hash key: a fresh one per start, so user access tokens of an earlier run never verify.
    userTokenKeys: { current: '1', keys: { '1': randomBytes(32) } },
  };
  try {
    installDeps(deps);
    if (options.seedClient !== false) {
      const seed = {
        webauthn_rp_id: 'localhost',
        webauthn_origins: [`http://localhost:${address.port}`],
        ...(options.seedClient ?? { client_id: 'local-client', client_secret: 'local-secret', redirect_uris: ['http://localhost:3000/callback'] }),
      };
      if (!(await getClient(deps, seed.client_id))) {
        await createClient(deps.store, clock.now(), { name: 'Local client', ...seed });
      }
      demo = createDemo({ apiUrl: url, issuer: deps.settings.issuer, clientId: seed.client_id, clientSecret: seed.client_secret });
    }
  } catch (error) {
    markFailed(error);
    await close();
    throw error;
  }
  markReady();

  return { url, deps, outbox, queue, dynamoEndpoint: dynamo.endpoint, close };
}
