/**
 * THE route table: every endpoint, once. The local server (bin/local.ts) and
 * the CDK stack (lib/) both read it, so an endpoint exists in both or in
 * neither; the OpenAPI document is generated from it; each handler module
 * looks up its own entry for the schemas it validates with.
 */
import type { z } from 'zod';
import * as s from './http/schemas.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * What a route's function may touch in AWS, for least-privilege grants.
 * `audit`: emits audit events (docs/audit.md), so may put them on the audit bus when one is enabled.
 */
export type Capability = 'sign' | 'email' | 'sms' | 'audit';

export interface RouteDefinition {
  /** Handler module: functions/handlers/<name>.ts */
  name: string;
  method: HttpMethod;
  /** API Gateway path syntax, `{param}` for path parameters. */
  path: string;
  /** `client`: needs a client access token; `none`: public; `client_credentials`: the token endpoint. */
  auth: 'client' | 'none' | 'client_credentials';
  summary: string;
  tag: 'OAuth' | 'Users' | 'Authentication' | 'Sessions' | 'Meta';
  body?: z.ZodType;
  params?: z.ZodType;
  /** Success status and body schema (none for 204). */
  success: { status: number; description: string; schema?: z.ZodType };
  /** Error codes this route can answer besides system_invalid_input / unauthorized / service_unavailable. */
  errors?: Array<{ status: number; code: string; when: string }>;
  capabilities?: Capability[];
}

const SESSION_ERRORS = [
  { status: 400, code: 'session_not_found', when: 'session_id is unknown, expired, ended or of another client' },
  { status: 403, code: 'session_user_mismatch', when: 'the authenticated user is not the session user' },
  { status: 403, code: 'session_binding_mismatch', when: 'the session is bound to another IP address' },
];

export const routes: readonly RouteDefinition[] = [
  {
    name: 'oidc-token',
    method: 'POST',
    path: '/oidc/token',
    auth: 'client_credentials',
    tag: 'OAuth',
    summary: 'Client credentials grant: a client access token for the /cis API',
    body: s.ClientCredentialsRequest,
    success: { status: 200, description: 'Client access token', schema: s.ClientTokenResponse },
    errors: [
      { status: 401, code: 'invalid_client', when: 'unknown client or wrong secret (OAuth error form)' },
      { status: 400, code: 'unsupported_grant_type', when: 'grant_type is not client_credentials (OAuth error form)' },
    ],
    capabilities: ['sign', 'audit'],
  },
  {
    name: 'oidc-jwks',
    method: 'GET',
    path: '/cis/oidc/jwks',
    auth: 'none',
    tag: 'OAuth',
    summary: 'Public keys that verify every token Twofold signs',
    success: { status: 200, description: 'JSON Web Key Set', schema: s.Jwks },
  },
  {
    name: 'oidc-discovery',
    method: 'GET',
    path: '/cis/oidc/.well-known/openid-configuration',
    auth: 'none',
    tag: 'OAuth',
    summary: 'OpenID provider metadata',
    success: { status: 200, description: 'Discovery document', schema: s.Discovery },
  },
  {
    name: 'openapi',
    method: 'GET',
    path: '/cis/openapi.json',
    auth: 'none',
    tag: 'Meta',
    summary: 'This OpenAPI document',
    success: { status: 200, description: 'OpenAPI 3.1 document' },
  },
  {
    name: 'users-create',
    method: 'POST',
    path: '/cis/v1/users',
    auth: 'client',
    tag: 'Users',
    summary: 'Create a user',
    body: s.CreateUserRequest,
    success: { status: 201, description: 'The new user', schema: s.UserResult },
    errors: [{ status: 409, code: 'user_already_exists', when: 'the email, phone number or username belongs to another user' }],
  },
  {
    name: 'users-get',
    method: 'GET',
    path: '/cis/v1/users/{user_id}',
    auth: 'client',
    tag: 'Users',
    summary: 'Get a user by id',
    params: s.UserIdParams,
    success: { status: 200, description: 'The user', schema: s.UserResult },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
  },
  {
    name: 'users-get-by-username',
    method: 'GET',
    path: '/cis/v1/users/username/{username}',
    auth: 'client',
    tag: 'Users',
    summary: 'Get a user by username',
    params: s.UsernameParams,
    success: { status: 200, description: 'The user', schema: s.UserResult },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
  },
  {
    name: 'users-get-by-email',
    method: 'GET',
    path: '/cis/v1/users/email/{email}',
    auth: 'client',
    tag: 'Users',
    summary: 'Get a user by email (case-insensitive)',
    params: s.EmailParams,
    success: { status: 200, description: 'The user', schema: s.UserResult },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
  },
  {
    name: 'users-get-by-phone',
    method: 'GET',
    path: '/cis/v1/users/phone-number/{phone_number}',
    auth: 'client',
    tag: 'Users',
    summary: 'Get a user by E.164 phone number',
    params: s.PhoneNumberParams,
    success: { status: 200, description: 'The user', schema: s.UserResult },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
  },
  {
    name: 'users-set-password',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/password',
    auth: 'client',
    tag: 'Users',
    summary: "Set or replace a user's password",
    params: s.UserIdParams,
    body: s.SetPasswordRequest,
    success: { status: 201, description: 'Password set', schema: s.TrueResult },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
  },
  {
    name: 'users-update',
    method: 'PUT',
    path: '/cis/v1/users/{user_id}',
    auth: 'client',
    tag: 'Users',
    summary: 'Change email, phone number, username or name (a changed contact becomes unverified)',
    params: s.UserIdParams,
    body: s.UpdateUserRequest,
    success: { status: 200, description: 'The updated user', schema: s.UserResult },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 409, code: 'user_already_exists', when: 'the new email, phone number or username belongs to another user' },
    ],
    capabilities: ['audit'],
  },
  {
    name: 'users-delete',
    method: 'DELETE',
    path: '/cis/v1/users/{user_id}',
    auth: 'client',
    tag: 'Users',
    summary: "Delete a user; ends all the user's sessions",
    params: s.UserIdParams,
    success: { status: 204, description: 'Deleted' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    capabilities: ['audit'],
  },
  {
    name: 'users-email-verification-send',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/email/verification/send',
    auth: 'client',
    tag: 'Users',
    summary: "Send a code to verify the user's email address",
    params: s.UserIdParams,
    body: s.VerificationSendEmailRequest,
    success: { status: 200, description: 'Sent', schema: s.TrueResult },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'contact_mismatch', when: "the email is not the user's" },
      { status: 429, code: 'rate_limited', when: 'send cooldown or budget exceeded; see Retry-After' },
    ],
    capabilities: ['email'],
  },
  {
    name: 'users-email-verification-verify',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/email/verification/verify',
    auth: 'client',
    tag: 'Users',
    summary: "Verify the user's email address with the code sent",
    params: s.UserIdParams,
    body: s.VerificationVerifyEmailRequest,
    success: { status: 200, description: 'Verified', schema: s.TrueResult },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'contact_mismatch', when: "the email is not the user's current one" },
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong, used or unknown code' },
      { status: 400, code: 'auth_otp_passcode_expired', when: 'the code has expired' },
      { status: 403, code: 'auth_locked', when: 'too many wrong codes' },
    ],
    capabilities: ['audit'],
  },
  {
    name: 'users-phone-verification-send',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/phone/verification/send',
    auth: 'client',
    tag: 'Users',
    summary: "Send a code to verify the user's phone number",
    params: s.UserIdParams,
    body: s.VerificationSendPhoneRequest,
    success: { status: 200, description: 'Sent', schema: s.TrueResult },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'contact_mismatch', when: "the phone number is not the user's" },
      { status: 429, code: 'rate_limited', when: 'send cooldown or budget exceeded; see Retry-After' },
    ],
    capabilities: ['sms'],
  },
  {
    name: 'users-phone-verification-verify',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/phone/verification/verify',
    auth: 'client',
    tag: 'Users',
    summary: "Verify the user's phone number with the code sent",
    params: s.UserIdParams,
    body: s.VerificationVerifyPhoneRequest,
    success: { status: 200, description: 'Verified', schema: s.TrueResult },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'contact_mismatch', when: "the phone number is not the user's current one" },
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong, used or unknown code' },
      { status: 400, code: 'auth_otp_passcode_expired', when: 'the code has expired' },
      { status: 403, code: 'auth_locked', when: 'too many wrong codes' },
    ],
    capabilities: ['audit'],
  },
  {
    name: 'users-totp-register',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/totp',
    auth: 'client',
    tag: 'Users',
    summary: 'Register an authenticator app (TOTP); the secret is shown only here',
    params: s.UserIdParams,
    success: { status: 200, description: 'The secret and otpauth URI', schema: s.TotpRegistrationResponse },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
  },
  {
    name: 'auth-password',
    method: 'POST',
    path: '/cis/v1/auth/password/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with username (or email / phone) and password',
    body: s.PasswordAuthenticateRequest,
    success: { status: 200, description: 'Tokens for the session', schema: s.TokenResponse },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong password or unknown user (the same answer)' },
      { status: 403, code: 'auth_locked', when: '10 consecutive failures lock password login for 15 minutes' },
      ...SESSION_ERRORS,
    ],
    capabilities: ['sign', 'audit'],
  },
  {
    name: 'auth-otp-send',
    method: 'POST',
    path: '/cis/v1/auth/otp/send',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Send a one-time passcode by email or SMS (or return it, `direct`)',
    body: s.OtpSendRequest,
    success: { status: 200, description: 'Sent (also for unknown users, unless the client reveals them)', schema: s.OtpSendResponse },
    errors: [
      { status: 404, code: 'user_not_found', when: 'unknown user, only for clients that reveal unknown users' },
      { status: 429, code: 'rate_limited', when: 'send cooldown or budget exceeded; see Retry-After' },
      { status: 403, code: 'forbidden', when: '`direct` delivery is not allowed for this client' },
    ],
    capabilities: ['email', 'sms'],
  },
  {
    name: 'auth-otp-authenticate',
    method: 'POST',
    path: '/cis/v1/auth/otp/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with a one-time passcode',
    body: s.OtpAuthenticateRequest,
    success: { status: 200, description: 'Tokens for the session', schema: s.TokenResponse },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong, used or unknown code' },
      { status: 400, code: 'auth_otp_passcode_expired', when: 'the code has expired' },
      { status: 403, code: 'auth_locked', when: '5 wrong tries on the code, or 10 failures for the user and channel in 15 minutes' },
      ...SESSION_ERRORS,
    ],
    capabilities: ['sign', 'audit'],
  },
  {
    name: 'auth-link-send',
    method: 'POST',
    path: '/cis/v1/auth/link/email/send',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Email a magic link to `redirect_uri?code=…&state=…` (or return it, `direct`)',
    body: s.LinkSendRequest,
    success: { status: 200, description: 'Sent (also for unknown users, unless the client reveals them)', schema: s.LinkSendResponse },
    errors: [
      { status: 400, code: 'invalid_redirect_uri', when: "redirect_uri is not one of the client's allowed URIs" },
      { status: 404, code: 'user_not_found', when: 'unknown user, only for clients that reveal unknown users' },
      { status: 429, code: 'rate_limited', when: 'send cooldown or budget exceeded; see Retry-After' },
      { status: 403, code: 'forbidden', when: '`direct` delivery is not allowed for this client' },
    ],
    capabilities: ['email'],
  },
  {
    name: 'auth-link-authenticate',
    method: 'POST',
    path: '/cis/v1/auth/link/email/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with the code of a magic link',
    body: s.LinkAuthenticateRequest,
    success: { status: 200, description: 'Tokens for the session', schema: s.TokenResponse },
    errors: [{ status: 400, code: 'invalid_magic_link_code', when: 'used, expired or unknown code' }, ...SESSION_ERRORS],
    capabilities: ['sign', 'audit'],
  },
  {
    name: 'auth-totp-authenticate',
    method: 'POST',
    path: '/cis/v1/auth/totp/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with an authenticator-app code (each code once per time step)',
    body: s.TotpAuthenticateRequest,
    success: { status: 200, description: 'Tokens for the session', schema: s.TokenResponse },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong or replayed code, unknown user, or no authenticator registered' },
      { status: 403, code: 'auth_locked', when: 'too many failures' },
      ...SESSION_ERRORS,
    ],
    capabilities: ['sign', 'audit'],
  },
  {
    name: 'auth-token-refresh',
    method: 'POST',
    path: '/cis/v1/auth/token/refresh',
    auth: 'client',
    tag: 'Sessions',
    summary: 'Rotate a refresh token: new tokens, and the old refresh token stops working',
    body: s.RefreshRequest,
    success: { status: 200, description: 'Tokens (without session_id)', schema: s.RefreshTokenResponse },
    errors: [{ status: 400, code: 'invalid_grant', when: 'unknown, rotated or foreign refresh token, or an ended session; a reused rotated token ends the session' }],
    capabilities: ['sign', 'audit'],
  },
  {
    name: 'auth-session',
    method: 'POST',
    path: '/cis/v1/auth/session/authenticate',
    auth: 'client',
    tag: 'Sessions',
    summary: 'Fresh tokens for a live session (adds no authentication)',
    body: s.SessionAuthenticateRequest,
    success: { status: 200, description: 'Tokens for the session', schema: s.TokenResponse },
    errors: SESSION_ERRORS,
    capabilities: ['sign', 'audit'],
  },
  {
    name: 'auth-logout',
    method: 'POST',
    path: '/cis/v1/auth/session/logout',
    auth: 'client',
    tag: 'Sessions',
    summary: 'End a session and every refresh token in it',
    body: s.LogoutRequest,
    success: { status: 204, description: 'Ended (also when it had already ended)' },
    errors: [{ status: 400, code: 'session_not_found', when: 'unknown session or one of another client' }],
    capabilities: ['audit'],
  },
];

export function routeNamed(name: string): RouteDefinition {
  const route = routes.find((r) => r.name === name);
  if (!route) throw new Error(`no route named ${name}`);
  return route;
}
