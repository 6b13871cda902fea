import { endpoint, json } from '../http/endpoint.js';

export const handler = endpoint('oidc-discovery', async ({ deps }) => {
  const issuer = deps.settings.issuer;
  return json(
    200,
    {
      issuer,
      jwks_uri: `${issuer}/cis/oidc/jwks`,
      token_endpoint: `${issuer}/oidc/token`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      id_token_signing_alg_values_supported: ['ES256'],
      subject_types_supported: ['public'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'sid', 'amr', 'email', 'email_verified', 'phone_number', 'phone_number_verified'],
    },
    { 'Cache-Control': 'public, max-age=300' },
  );
});
