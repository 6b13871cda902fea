import { exchangeClientCredentials } from '../core/clients.js';
import { OAuthError } from '../errors.js';
import { endpoint, header, json } from '../http/endpoint.js';
import { ClientCredentialsRequest } from '../http/schemas.js';

/** Reads `client_id:client_secret` from HTTP Basic (RFC 6749 section 2.3.1: form-urlencoded parts). */
function basicCredentials(authorization: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

export const handler = endpoint('oidc-token', { body: ClientCredentialsRequest }, async ({ deps, event, body }) => {
  if (body.grant_type !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', 400, 'Only grant_type=client_credentials is supported');
  }
  const basic = basicCredentials(header(event, 'authorization'));
  const id = basic?.id ?? body.client_id;
  const secret = basic?.secret ?? body.client_secret;
  if (!id || !secret) throw new OAuthError('invalid_client', 401, 'Client credentials are required (client_id and client_secret, or HTTP Basic)');
  return json(200, await exchangeClientCredentials(deps, id, secret, event.requestContext?.http?.sourceIp ?? null));
});
