/**
 * The OpenID provider metadata (OpenID Connect Discovery 1.0), served both
 * under the upstream API's path and at `{issuer}/.well-known/openid-configuration`,
 * where standard clients look for it. `issuer` is exactly the `iss` of every token.
 *
 * Discovery requires `response_types_supported`, a list of OAuth response
 * types of the authorization endpoint, which Twofold does not have: its
 * authentication endpoints answer the ID token itself, never a code. So the
 * list holds the one response type that describes that, `id_token`, and the
 * document names no `authorization_endpoint`.
 */
import type { CoreSettings } from './deps.js';

export function discoveryDocument(settings: Pick<CoreSettings, 'issuer'>) {
  const issuer = settings.issuer;
  return {
    issuer,
    jwks_uri: `${issuer}/cis/oidc/jwks`,
    token_endpoint: `${issuer}/oidc/token`,
    grant_types_supported: ['client_credentials'],
    response_types_supported: ['id_token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    id_token_signing_alg_values_supported: ['ES256'],
    subject_types_supported: ['public'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'sid', 'amr', 'email', 'email_verified', 'phone_number', 'phone_number_verified'],
  };
}
