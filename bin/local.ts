/**
 * `npm start`: the whole API on http://127.0.0.1:3000 with an embedded
 * DynamoDB-compatible store, a local signing key and a captured outbox.
 * No AWS account, no Docker.
 */
import { startLocalServer } from '../functions/adapters/local/server.js';
import { jsonLogger, type LogLevel } from '../functions/adapters/logger.js';

// The pinned SDK runs on Node 20; its notice about future releases needing Node 22 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const port = Number(process.env.PORT ?? 3000);
const clientId = process.env.TWOFOLD_CLIENT_ID ?? 'local-client';
const clientSecret = process.env.TWOFOLD_CLIENT_SECRET ?? 'local-secret';
const redirectUris = (process.env.TWOFOLD_REDIRECT_URIS ?? 'http://localhost:3000/callback')
  .split(',')
  .map((u) => u.trim())
  .filter(Boolean);

const server = await startLocalServer({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  // The embedded store listens next to the API, so `npm run client` can reach it.
  dynamoPort: Number(process.env.LOCAL_DYNAMODB_PORT ?? port + 1),
  logger: jsonLogger((process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info'),
  seedClient: { client_id: clientId, client_secret: clientSecret, redirect_uris: redirectUris },
});

const banner = [
  '',
  `  Twofold is running at ${server.url}`,
  '',
  `  client_id      ${clientId}`,
  `  client_secret  ${clientSecret}`,
  `  redirect URIs  ${redirectUris.join(', ')}`,
  '',
  `  outbox         ${server.url}/local/outbox      (emails and SMS are captured here, not sent)`,
  `  demo           http://localhost:${new URL(server.url).port}/local/demo   (sign up, then step up with SMS or a passkey)`,
  `  OpenAPI        ${server.url}/cis/openapi.json`,
  `  JWKS           ${server.url}/cis/oidc/jwks`,
  `  DynamoDB       ${server.dynamoEndpoint}${process.env.DYNAMODB_ENDPOINT ? '' : ' (embedded, in memory)'}`,
  '',
  '  Press Ctrl+C to stop.',
  '',
];
process.stdout.write(`${banner.join('\n')}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
