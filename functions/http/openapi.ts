/**
 * The OpenAPI 3.1 document, generated from the route table and the same zod
 * schemas that validate requests. Served at GET /cis/openapi.json and written
 * by `npm run openapi`.
 */
import * as z from 'zod/mini';
import { routes, type RouteDefinition, type SchemaName } from '../routes.js';
import * as schemas from './schemas.js';

const { ErrorBody, LIMITS, OAuthErrorBody } = schemas;

const COMPONENT = (id: string) => `#/components/schemas/${id}`;
const OPTIONS = { target: 'draft-2020-12', io: 'input', unrepresentable: 'any', uri: COMPONENT } as const;

type JsonSchema = Record<string, unknown>;

/**
 * An unregistered schema converted alone puts the registered schemas it uses
 * under its own `$defs` and points at them with `#/$defs/<id>`, which means
 * nothing inside an OpenAPI document. Every id there is a component already
 * (the components are the whole registry), so the pointers are rewritten to
 * `#/components/schemas/<id>` and the local copies dropped. A definition that
 * is not a component would be lost, so it fails the build instead.
 */
function inlineSchema(schema: z.ZodMiniType): JsonSchema {
  const { $schema: _schema, $defs: defs = {}, ...inline } = z.toJSONSchema(schema, OPTIONS) as JsonSchema & { $defs?: JsonSchema };
  for (const id of Object.keys(defs)) {
    if (!registeredIds().has(id)) throw new Error(`schema definition ${id} is not a registered component; give it an id with meta()`);
  }
  return rewriteRefs(inline) as JsonSchema;
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) =>
      key === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? [key, COMPONENT(v.slice('#/$defs/'.length))] : [key, rewriteRefs(v)],
    ),
  );
}

/** The ids of the registered schemas: exactly the document's components. */
function registeredIds(): Set<string> {
  return new Set(z.globalRegistry._idmap.keys());
}

function schemaRef(name: SchemaName): JsonSchema {
  const schema = schemas[name]();
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return { $ref: COMPONENT(id) };
  return inlineSchema(schema);
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: COMPONENT('Error') } } },
});

function operation(route: RouteDefinition): JsonSchema {
  const responses: Record<string, unknown> = {};
  responses[String(route.success.status)] = route.success.schema
    ? { description: route.success.description, content: { 'application/json': { schema: schemaRef(route.success.schema) } } }
    : { description: route.success.description };

  const errors = [...(route.errors ?? [])];
  if (route.body || route.params) errors.push({ status: 400, code: 'system_invalid_input', when: `invalid JSON, wrong types, missing fields, strings over their limits or a body over ${LIMITS.bodyBytes} bytes` });
  if (route.auth === 'client') errors.push({ status: 401, code: 'unauthorized', when: 'missing, malformed, expired, wrongly signed or foreign client access token' });
  if (route.auth === 'user') {
    errors.push({ status: 401, code: 'unauthorized', when: 'missing, malformed, expired or wrongly signed user access token, a client token, or a token whose session has ended (logout, expiry, disabled user, or a credential change while the call ran; nothing is stored)' });
  }
  if (route.name !== 'openapi') errors.push({ status: 503, code: 'service_unavailable', when: 'a dependency failed; nothing was changed; see Retry-After' });
  const byStatus = new Map<number, string[]>();
  for (const e of errors) byStatus.set(e.status, [...(byStatus.get(e.status) ?? []), `\`${e.code}\`: ${e.when}`]);
  for (const [status, lines] of byStatus) {
    const oauth = route.auth === 'client_credentials' && status !== 503;
    responses[String(status)] = oauth
      ? { description: lines.join('\n\n'), content: { 'application/json': { schema: { $ref: COMPONENT('OAuthError') } } } }
      : errorResponse(lines.join('\n\n'));
  }

  const op: JsonSchema = { operationId: route.name, summary: route.summary, tags: [route.tag], responses };
  if (route.auth === 'client') op.security = [{ clientToken: [] }];
  if (route.auth === 'user') op.security = [{ userToken: [] }];
  if (route.auth === 'none' || route.auth === 'client_credentials') op.security = [];
  if (route.params) {
    const params = inlineSchema(schemas[route.params]()) as { properties: Record<string, JsonSchema> };
    op.parameters = Object.entries(params.properties).map(([name, schema]) => ({ name, in: 'path', required: true, schema }));
  }
  if (route.body) {
    const content: Record<string, unknown> = { 'application/json': { schema: schemaRef(route.body) } };
    if (route.auth === 'client_credentials') content['application/x-www-form-urlencoded'] = { schema: schemaRef(route.body) };
    op.requestBody = { required: !route.bodyOptional, content };
  }
  return op;
}

/**
 * Builds every schema the document shows: the route table's and the error
 * bodies every route answers with. Schemas are built lazily, and the
 * components are whatever the registry holds, so this comes first.
 */
function buildEverySchema(): void {
  ErrorBody();
  OAuthErrorBody();
  for (const route of routes) {
    for (const name of [route.params, route.body, route.success.schema]) if (name) schemas[name]();
  }
}

export function buildOpenApiDocument(serverUrl = 'http://127.0.0.1:3000'): JsonSchema {
  buildEverySchema();
  const registered = (z.toJSONSchema(z.globalRegistry, OPTIONS) as { schemas: Record<string, JsonSchema> }).schemas;
  const components: Record<string, JsonSchema> = {};
  // By id: the registry's order is the order schemas happened to be built in.
  for (const [id, schema] of Object.entries(registered).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { $schema: _s, $id: _id, ...rest } = schema;
    components[id] = rest;
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Twofold',
      version: '0.1.0',
      description: [
        "Self-hosted multi-factor authentication backend. The HTTP shape follows Transmit Security's backend-authentication API.",
        '',
        'Choices where the upstream contract is silent:',
        '- Unknown optional fields of authentication calls are accepted and ignored; user create and update refuse fields Twofold does not keep (400), so a success always means every field was applied. Invalid input is always 400 `system_invalid_input`.',
        '- User times follow upstream `ApiUser`: `created_at` / `updated_at` epoch milliseconds, `verified_at` / `status_changed_at` ISO 8601 strings. Disabling a user ends its sessions for good; re-enabling does not revive them.',
        '- TOTP register: a working authenticator without `allow_override` is 409 `auth_totp_already_configured`; a pending one (no code accepted yet) is replaced; the first accepted code activates it.',
        '- `claims.id_token` adds `username` and `name` (OIDC string: title, first, middle, last name joined by spaces) when asked for and held; contact claims are always present; other claims are ignored. Refresh answers without them.',
        '- Errors are `{error_code, message}`; the token endpoint answers in the OAuth form `{error, error_description}`.',
        '- `amr` lists methods in the order pwd, eotp, eml, sms, otp, webauthn, recovery_code, then `mfa`; the ID token\'s `amr_at` is an object from each of those methods to the epoch second of its latest authentication.',
        '- `max_age` is judged on whole epoch seconds: a factor at second T is fresh while T + max_age >= the token\'s `iat` (exactly max_age seconds old is fresh); the authentication added by the call itself is always fresh.',
        '- Recovery codes: generating needs a session holding MFA (else 403 `auth_mfa_required`); each attempt, right or wrong, is counted before it is compared; the 10th of a run locks for 15 minutes (403 `auth_locked`), and a run ends after 15 minutes without attempts, as for OTP channels and TOTP.',
        '- Passkeys: a client without `webauthn_rp_id` and `webauthn_origins` answers 403 `forbidden` on the passkey routes; the finish calls find their challenge through `clientDataJSON`, so they need no `webauthn_session_id`; `GET /cis/v1/users/{user_id}/webauthn-credentials` answers a bare array, as upstream.',
        '- A session bound to an IP refuses calls whose `client_attributes.ip_address` is missing or different.',
        '- Logout of an already ended session of the same client answers 204 again (idempotent).',
        '- `direct` OTP delivery needs a client that allows it (else 403 `forbidden`) and an email or phone_number identifier.',
        '- Users are shared by all clients of a deployment; sessions, codes and links belong to the client that created them.',
        '- OTP authenticate with identifier_type user_id or username uses the channel of `request_id`, else the most recently sent live code.',
        '- Login and verification codes of one user and channel share one record: a new send of either kind replaces the previous code, and both count toward one failure budget.',
        '- Magic link send: identifier_type defaults to `email`; `channel: direct` answers `{message, link}`.',
        "- Refresh: of concurrent refreshes with one token exactly one succeeds. A rotated token presented again ends the whole session at once, unless the client set `refresh_reuse_grace_seconds` (default 0, max 60): within it, the token rotated last is refused with `invalid_grant` and the session lives on.",
        '- Refresh and logout take `client_attributes` and enforce IP binding like every authenticate call (403 `session_binding_mismatch`; nothing is rotated or ended). A refresh learns of the binding only with one of the session\'s real tokens; any other token is `invalid_grant`.',
        '- Send limits: every 429 is keyed only on what the caller submitted (channel, identifier_type, normalized identifier), identically for registered and unknown identifiers; OTP and magic-link sends with the same channel and identifier share one limit, and `direct` counts on the channel its identifier names. The same limits on the real destination fail silently (200, nothing sent).',
        "- The client's hourly send budget is read on every send and consumed only by real deliveries (not by sends to unknown identifiers, nor by `direct`). Residual: it is client-wide state, so a caller who knows it is one short of the budget could learn once per hour whether one send was delivered.",
        '- Sends do not wait on SES or SNS: the code is stored and its delivery queued, then the send answers 200; a sender delivers it moments later, retrying throttling, and never delivers a code that expired or was replaced. A send to nobody makes the same requests (a decoy goes on the queue), so timing does not tell them apart. A failed enqueue is 503 with Retry-After and leaves no usable code.',
        '- Path parameters are percent-decoded once, by API Gateway (the HTTP API decodes request parameters before the integration); the handler never decodes them again.',
        '- Replacing a password or deleting a user ends all of that user\'s sessions.',
        '- No temporary passwords: `force_replace: true` (Transmit\'s default) is refused with 400; omitted or false gives a permanent password. `enforce_complexity: false` does not lift the password policy.',
        '- Password policy failures answer Transmit\'s codes: shorter than 8 characters `auth_password_weak`, on the common-password list `auth_password_breached`.',
        '- Replacing the password of a user who has none is 409 `auth_password_already_configured`, the status and code Transmit documents for that case.',
      ].join('\n'),
    },
    servers: [{ url: serverUrl }],
    components: {
      schemas: components,
      securitySchemes: {
        clientToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Client access token from POST /oidc/token' },
        userToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'User access token: the `access_token` of a token response; it works only while its session is live. An HS256 JWT (`typ: twofold-uat+jwt`) under a service secret, checked only by Twofold: unlike Transmit, no JWKS verifies it (ID tokens and client tokens are ES256 and JWKS-verifiable).',
        },
      },
    },
    security: [{ clientToken: [] }],
    paths,
  };
}
