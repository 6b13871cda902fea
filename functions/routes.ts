/**
 * THE route table: every endpoint, once. The local server (bin/local.ts) and
 * the CDK stack (lib/) both read it, so an endpoint exists in both or in
 * neither; the OpenAPI document is generated from it; each handler module
 * looks up its own entry, and validates with the schemas it names.
 *
 * Declaring what a route needs (least privilege, functions/access.ts):
 *
 *   capabilities: ['sign', 'hash-key'],                 // what it uses besides the table
 *   table: { read: ['emailClaim'], write: ['otp'] },    // record kinds, named as in core/model.ts `keys`
 *
 * - A route gets NOTHING it does not declare: no table, no secret, no key, no
 *   delivery. Its auth adds only what authentication itself needs (`client`:
 *   read `client` records and the public keys; `client_credentials`: read
 *   `client` records).
 * - `table.read` kinds get GetItem; `table.write` kinds get GetItem, PutItem,
 *   UpdateItem and DeleteItem (increments are UpdateItem). IAM limits each to
 *   the kinds' key prefixes with `dynamodb:LeadingKeys`.
 * - Capabilities: `sign` (kms:Sign, issues tokens), `public-keys` (publishes
 *   the JWKS), `queue` (puts deliveries on the delivery queue; only the
 *   delivery sender, functions/workers.ts, has `email` and `sms`),
 *   `hash-key` (keyed hashes: OTPs, link codes, send limits; seals queued
 *   deliveries), `totp-key` (opens and seals TOTP seeds).
 * - The same declaration restricts the dependencies the handler receives, in
 *   tests and locally as in AWS: an undeclared access throws
 *   UndeclaredAccessError naming the entry to add, so a missing declaration
 *   fails the route's tests instead of an AccessDenied after deploying.
 */
import type * as schemas from './http/schemas.js';
import type { Lazy } from './http/schemas.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * A schema of functions/http/schemas.ts, by its export name. The table names
 * schemas rather than importing them, so a function's bundle carries only the
 * schemas its handler passes to `endpoint()`, not every route's.
 */
export type SchemaName = { [K in keyof typeof schemas]: (typeof schemas)[K] extends Lazy ? K : never }[keyof typeof schemas];

import type { Capability, TableAccess } from './access.js';

export type { Capability, RecordKind, TableAccess } from './access.js';

export interface RouteDefinition {
  /** Handler module: functions/handlers/<name>.ts */
  name: string;
  method: HttpMethod;
  /** API Gateway path syntax, `{param}` for path parameters. */
  path: string;
  /**
   * `client`: needs a client access token; `user`: needs the user access token
   * (`access_token` of a token response) of a live session; `none`: public;
   * `client_credentials`: the token endpoint.
   */
  auth: 'client' | 'user' | 'none' | 'client_credentials';
  summary: string;
  tag: 'OAuth' | 'Users' | 'Authentication' | 'Sessions' | 'Meta';
  body?: SchemaName;
  /** A missing body is taken as `{}` (every field of `body` is optional). */
  bodyOptional?: boolean;
  params?: SchemaName;
  /** Success status and body schema (none for 204). */
  success: { status: number; description: string; schema?: SchemaName };
  /** Error codes this route can answer besides system_invalid_input / unauthorized / service_unavailable. */
  errors?: Array<{ status: number; code: string; when: string }>;
  /**
   * What the route's function may use, besides what its `auth` implies (see
   * "Declaring what a route needs" below). Nothing when absent.
   */
  capabilities?: Capability[];
  /** The table records it reads and writes, by kind of core/model.ts `keys`. None when absent. */
  table?: TableAccess;
}

/** When a send answers 429: only what the caller submitted decides, never whether it names a user. */
const SEND_LIMIT_429 =
  "this channel and identifier (as submitted, normalized) got a send less than 30 s ago or 5 in 15 minutes, or the client's hourly budget of real deliveries on this channel (SMS apart from email and links) is used up; see Retry-After. Judged identically for registered and unknown identifiers. The same limits on the real destination (the user's address or number, under any of its names) and a budget exhausted by concurrent sends drop the delivery silently: 200, nothing sent.";

const SMS_COUNTRY_400 =
  "SMS to the submitted phone number: its country (calling code; for +1 the area code of NANP members other than the US and Canada) is not in the client's SMS countries. Judged on the submitted number alone, before anything is read or stored: registered and unknown numbers are refused alike. A stored number the caller did not submit is never refused: the send is dropped silently (200, nothing sent).";

const SESSION_ERRORS = [
  { status: 400, code: 'session_not_found', when: 'session_id is unknown, expired, ended or of another client' },
  { status: 403, code: 'session_user_mismatch', when: 'the authenticated user is not the session user' },
  { status: 403, code: 'session_binding_mismatch', when: 'the session is bound to another IP address' },
];

/** What a user-token route that adds a factor can be refused for (core/factor-enrolment.ts). */
const ENROLMENT_ERRORS = [
  {
    status: 403,
    code: 'auth_mfa_required',
    when: "the user already holds a second factor (a verified email or phone, an authenticator app, a passkey, unused recovery codes) and the token's session does not hold authentications of two factor classes within the client's enrolment_max_age_seconds (default 900); nothing is stored",
  },
  { status: 403, code: 'session_binding_mismatch', when: "the token's session is bound to an IP address and client_attributes.ip_address is another (or missing); nothing is stored" },
];

/** What a new password can be refused for (create user with credentials, and the password routes). */
const PASSWORD_POLICY_ERRORS = [
  { status: 400, code: 'auth_password_weak', when: 'the password is shorter than 8 characters (after NFC normalisation)' },
  { status: 400, code: 'auth_password_breached', when: 'the password is on the list of common, leaked passwords' },
];

export const routes: readonly RouteDefinition[] = [
  {
    name: 'oidc-token',
    method: 'POST',
    path: '/oidc/token',
    auth: 'client_credentials',
    tag: 'OAuth',
    summary: 'Client credentials grant: a client access token for the /cis API',
    body: 'ClientCredentialsRequest',
    success: { status: 200, description: 'Client access token', schema: 'ClientTokenResponse' },
    errors: [
      { status: 401, code: 'invalid_client', when: 'unknown client or wrong secret (OAuth error form)' },
      { status: 400, code: 'unsupported_grant_type', when: 'grant_type is not client_credentials (OAuth error form)' },
    ],
    capabilities: ['sign', 'audit', 'audit'],
  },
  {
    name: 'oidc-jwks',
    method: 'GET',
    path: '/cis/oidc/jwks',
    auth: 'none',
    tag: 'OAuth',
    summary: 'Public keys that verify every token Twofold signs',
    success: { status: 200, description: 'JSON Web Key Set', schema: 'Jwks' },
    capabilities: ['public-keys'],
  },
  {
    name: 'oidc-discovery',
    method: 'GET',
    path: '/cis/oidc/.well-known/openid-configuration',
    auth: 'none',
    tag: 'OAuth',
    summary: 'OpenID provider metadata',
    success: { status: 200, description: 'Discovery document', schema: 'Discovery' },
  },
  {
    name: 'oidc-discovery-well-known',
    method: 'GET',
    path: '/.well-known/openid-configuration',
    auth: 'none',
    tag: 'OAuth',
    summary: 'OpenID provider metadata where standard clients look for it: {issuer}/.well-known/openid-configuration (the same document)',
    success: { status: 200, description: 'Discovery document', schema: 'Discovery' },
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
    body: 'CreateUserRequest',
    success: { status: 201, description: 'The new user', schema: 'UserResult' },
    errors: [...PASSWORD_POLICY_ERRORS, { status: 409, code: 'user_already_exists', when: 'the email, phone number or username belongs to another user' }],
    table: { write: ['user', 'emailClaim', 'phoneClaim', 'usernameClaim'] },
  },
  {
    name: 'users-get',
    method: 'GET',
    path: '/cis/v1/users/{user_id}',
    auth: 'client',
    tag: 'Users',
    summary: 'Get a user by id',
    params: 'UserIdParams',
    success: { status: 200, description: 'The user', schema: 'UserResult' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    table: { read: ['user'] },
  },
  {
    name: 'users-get-by-username',
    method: 'GET',
    path: '/cis/v1/users/username/{username}',
    auth: 'client',
    tag: 'Users',
    summary: 'Get a user by username',
    params: 'UsernameParams',
    success: { status: 200, description: 'The user', schema: 'UserResult' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    table: { read: ['usernameClaim', 'user'] },
  },
  {
    name: 'users-get-by-email',
    method: 'GET',
    path: '/cis/v1/users/email/{email}',
    auth: 'client',
    tag: 'Users',
    summary: 'Get a user by email (case-insensitive)',
    params: 'EmailParams',
    success: { status: 200, description: 'The user', schema: 'UserResult' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    table: { read: ['emailClaim', 'user'] },
  },
  {
    name: 'users-get-by-phone',
    method: 'GET',
    path: '/cis/v1/users/phone-number/{phone_number}',
    auth: 'client',
    tag: 'Users',
    summary: 'Get a user by E.164 phone number',
    params: 'PhoneNumberParams',
    success: { status: 200, description: 'The user', schema: 'UserResult' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    table: { read: ['phoneClaim', 'user'] },
  },
  {
    name: 'users-password-create',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/password',
    auth: 'client',
    tag: 'Users',
    summary: "Create the user's first password (and optionally set the username to log in with)",
    params: 'UserIdParams',
    body: 'CreatePasswordRequest',
    success: { status: 201, description: 'Password registered', schema: 'PasswordResult' },
    errors: [
      ...PASSWORD_POLICY_ERRORS,
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 409, code: 'auth_password_already_configured', when: 'the user already has a password (replace it with PUT)' },
      { status: 409, code: 'user_already_exists', when: 'the username belongs to another user' },
    ],
    table: { write: ['user', 'usernameClaim'] },
  },
  {
    name: 'users-password-update',
    method: 'PUT',
    path: '/cis/v1/users/{user_id}/password',
    auth: 'client',
    tag: 'Users',
    summary: "Replace the user's password; every session of the user ends",
    params: 'UserIdParams',
    body: 'UpdatePasswordRequest',
    success: { status: 200, description: 'Password registered', schema: 'PasswordResult' },
    errors: [
      ...PASSWORD_POLICY_ERRORS,
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 409, code: 'auth_password_already_configured', when: 'the user has no password to replace (create one with POST); the code Transmit documents for this case' },
    ],
    table: { write: ['user'] },
  },
  {
    name: 'users-update',
    method: 'PUT',
    path: '/cis/v1/users/{user_id}',
    auth: 'client',
    tag: 'Users',
    summary: 'Change email, phone number, username, name or status (a changed contact becomes unverified; a verified one replaced, or Disabled, ends every session)',
    params: 'UserIdParams',
    body: 'UpdateUserRequest',
    success: { status: 200, description: 'The updated user: every field sent was applied', schema: 'UserResult' },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'system_invalid_input', when: 'a field Twofold does not keep (e.g. birthday, custom_data), or status Pending' },
      { status: 409, code: 'user_already_exists', when: 'the new email, phone number or username belongs to another user' },
    ],
    capabilities: ['audit'],
    table: { write: ['user', 'emailClaim', 'phoneClaim', 'usernameClaim'] },
  },
  {
    name: 'users-delete',
    method: 'DELETE',
    path: '/cis/v1/users/{user_id}',
    auth: 'client',
    tag: 'Users',
    summary: "Delete a user; ends all the user's sessions",
    params: 'UserIdParams',
    success: { status: 204, description: 'Deleted' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    capabilities: ['audit'],
    table: { write: ['user', 'emailClaim', 'phoneClaim', 'usernameClaim', 'recoveryCodes'] },
  },
  {
    name: 'users-email-verification-send',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/email/verification/send',
    auth: 'client',
    tag: 'Users',
    summary: "Send a code to verify the user's email address",
    params: 'UserIdParams',
    body: 'VerificationSendEmailRequest',
    success: { status: 200, description: 'Sent', schema: 'TrueResult' },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'contact_mismatch', when: "the email is not the user's" },
      { status: 429, code: 'rate_limited', when: SEND_LIMIT_429 },
    ],
    capabilities: ['queue', 'hash-key'],
    table: { read: ['user', 'otp'], write: ['otp', 'sendRequestRate', 'sendBudget'] },
  },
  {
    name: 'users-email-verification-verify',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/email/verification/verify',
    auth: 'client',
    tag: 'Users',
    summary: "Verify the user's email address with the code sent",
    params: 'UserIdParams',
    body: 'VerificationVerifyEmailRequest',
    success: { status: 200, description: 'Verified', schema: 'TrueResult' },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'contact_mismatch', when: "the email is not the user's current one" },
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong, used or unknown code' },
      { status: 400, code: 'auth_otp_passcode_expired', when: 'the code has expired' },
      { status: 403, code: 'auth_locked', when: 'too many wrong codes' },
    ],
    capabilities: ['hash-key', 'audit'],
    table: { write: ['user', 'otp'] },
  },
  {
    name: 'users-phone-verification-send',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/phone/verification/send',
    auth: 'client',
    tag: 'Users',
    summary: "Send a code to verify the user's phone number",
    params: 'UserIdParams',
    body: 'VerificationSendPhoneRequest',
    success: { status: 200, description: 'Sent', schema: 'TrueResult' },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'contact_mismatch', when: "the phone number is not the user's" },
      { status: 400, code: 'sms_country_not_allowed', when: SMS_COUNTRY_400 },
      { status: 429, code: 'rate_limited', when: SEND_LIMIT_429 },
    ],
    capabilities: ['queue', 'hash-key'],
    table: { read: ['user', 'otp'], write: ['otp', 'sendRequestRate', 'sendBudget'] },
  },
  {
    name: 'users-phone-verification-verify',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/phone/verification/verify',
    auth: 'client',
    tag: 'Users',
    summary: "Verify the user's phone number with the code sent",
    params: 'UserIdParams',
    body: 'VerificationVerifyPhoneRequest',
    success: { status: 200, description: 'Verified', schema: 'TrueResult' },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 400, code: 'contact_mismatch', when: "the phone number is not the user's current one" },
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong, used or unknown code' },
      { status: 400, code: 'auth_otp_passcode_expired', when: 'the code has expired' },
      { status: 403, code: 'auth_locked', when: 'too many wrong codes' },
    ],
    capabilities: ['hash-key', 'audit'],
    table: { write: ['user', 'otp'] },
  },
  {
    name: 'auth-password',
    method: 'POST',
    path: '/cis/v1/auth/password/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with username (or email / phone) and password',
    body: 'PasswordAuthenticateRequest',
    success: { status: 200, description: 'Tokens for the session', schema: 'TokenResponse' },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong password or unknown user (the same answer)' },
      { status: 403, code: 'auth_locked', when: '10 consecutive failures lock password login for 15 minutes' },
      ...SESSION_ERRORS,
    ],
    capabilities: ['sign', 'hash-key', 'audit'],
    table: { read: ['emailClaim', 'phoneClaim', 'usernameClaim'], write: ['user', 'session', 'passwordAttempts'] },
  },
  {
    name: 'auth-otp-send',
    method: 'POST',
    path: '/cis/v1/auth/otp/send',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Send a one-time passcode by email or SMS (or return it, `direct`)',
    body: 'OtpSendRequest',
    success: {
      status: 200,
      description:
        "Queued for delivery; also for unknown users (nothing sent, unless the client reveals them) for sends a destination limit dropped, and for SMS to a stored number outside the client's SMS countries (dropped, nothing sent). The code is stored and its delivery queued before the answer; a sender delivers it moments later, retrying throttling. A send to nobody makes the same requests (a decoy goes on the queue), so timing does not tell them apart. A failed enqueue is 503 with Retry-After and leaves no usable code.",
      schema: 'OtpSendResponse',
    },
    errors: [
      { status: 404, code: 'user_not_found', when: 'unknown user, only for clients that reveal unknown users' },
      { status: 400, code: 'sms_country_not_allowed', when: `channel sms with identifier_type phone_number: ${SMS_COUNTRY_400}` },
      { status: 429, code: 'rate_limited', when: SEND_LIMIT_429 },
      { status: 403, code: 'forbidden', when: '`direct` delivery is not allowed for this client' },
    ],
    capabilities: ['queue', 'hash-key'],
    table: { read: ['emailClaim', 'phoneClaim', 'usernameClaim', 'user', 'otp'], write: ['otp', 'otpDecoy', 'sendRequestRate', 'sendBudget'] },
  },
  {
    name: 'auth-otp-authenticate',
    method: 'POST',
    path: '/cis/v1/auth/otp/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with a one-time passcode',
    body: 'OtpAuthenticateRequest',
    success: { status: 200, description: 'Tokens for the session', schema: 'TokenResponse' },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong, used or unknown code' },
      { status: 400, code: 'auth_otp_passcode_expired', when: 'the code has expired' },
      { status: 403, code: 'auth_locked', when: '5 wrong tries on the code, or 10 failures for the user and channel without a 15-minute pause (locked 15 minutes)' },
      ...SESSION_ERRORS,
    ],
    capabilities: ['sign', 'hash-key', 'audit'],
    table: { read: ['emailClaim', 'phoneClaim', 'usernameClaim'], write: ['user', 'otp', 'otpDecoy', 'session'] },
  },
  {
    name: 'auth-link-send',
    method: 'POST',
    path: '/cis/v1/auth/link/email/send',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Email a magic link to `redirect_uri?code=…&state=…` (or return it, `direct`)',
    body: 'LinkSendRequest',
    success: {
      status: 200,
      description:
        "Queued for delivery; also for unknown users (nothing sent, unless the client reveals them) and for sends a destination limit dropped. A send to nobody makes the same requests (a decoy goes on the queue). A failed enqueue is 503 with Retry-After and leaves no usable link.",
      schema: 'LinkSendResponse',
    },
    errors: [
      { status: 400, code: 'invalid_redirect_uri', when: "redirect_uri is not one of the client's allowed URIs" },
      { status: 404, code: 'user_not_found', when: 'unknown user, only for clients that reveal unknown users' },
      { status: 429, code: 'rate_limited', when: SEND_LIMIT_429 },
      { status: 403, code: 'forbidden', when: '`direct` delivery is not allowed for this client' },
    ],
    capabilities: ['queue', 'hash-key'],
    table: { read: ['emailClaim', 'phoneClaim', 'usernameClaim', 'user', 'otp'], write: ['magicLink', 'otp', 'otpDecoy', 'sendRequestRate', 'sendBudget'] },
  },
  {
    name: 'auth-link-authenticate',
    method: 'POST',
    path: '/cis/v1/auth/link/email/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with the code of a magic link',
    body: 'LinkAuthenticateRequest',
    success: { status: 200, description: 'Tokens for the session', schema: 'TokenResponse' },
    errors: [{ status: 400, code: 'invalid_magic_link_code', when: 'used, expired or unknown code' }, ...SESSION_ERRORS],
    capabilities: ['sign', 'hash-key', 'audit'],
    table: { write: ['magicLink', 'user', 'session'] },
  },
  {
    name: 'auth-totp-register',
    method: 'POST',
    path: '/cis/v1/auth/totp/register',
    auth: 'user',
    tag: 'Authentication',
    summary:
      "Register an authenticator app (TOTP) for the user of the token; pending until a code from it is accepted. The secret is shown only here. Replacing a working one (allow_override) ends every other session of the user",
    body: 'TotpRegisterRequest',
    bodyOptional: true,
    success: { status: 201, description: 'The secret and otpauth URI', schema: 'TotpRegistrationResponse' },
    errors: [
      { status: 409, code: 'auth_totp_already_configured', when: 'the user has a working authenticator (a code from it was accepted) and allow_override is not true' },
      ...ENROLMENT_ERRORS,
    ],
    capabilities: ['totp-key', 'audit'],
    table: { read: ['recoveryCodes'], write: ['user', 'session'] },
  },
  {
    name: 'auth-totp-authenticate',
    method: 'POST',
    path: '/cis/v1/auth/totp/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with an authenticator-app code (each code once per time step)',
    body: 'TotpAuthenticateRequest',
    success: { status: 200, description: 'Tokens for the session', schema: 'TokenResponse' },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong or replayed code, unknown user, or no authenticator registered' },
      { status: 403, code: 'auth_locked', when: 'too many failures' },
      ...SESSION_ERRORS,
    ],
    capabilities: ['sign', 'hash-key', 'totp-key', 'audit'],
    table: { read: ['emailClaim', 'phoneClaim', 'usernameClaim'], write: ['user', 'session', 'totpAttempts'] },
  },
  {
    name: 'auth-token-refresh',
    method: 'POST',
    path: '/cis/v1/auth/token/refresh',
    auth: 'client',
    tag: 'Sessions',
    summary: 'Rotate a refresh token: new tokens, and the old refresh token stops working',
    body: 'RefreshRequest',
    success: { status: 200, description: 'Tokens (without session_id)', schema: 'RefreshTokenResponse' },
    errors: [
      {
        status: 400,
        code: 'invalid_grant',
        when: "unknown, rotated or foreign refresh token, or an ended session. A rotated token presented again ends the whole session at once, unless it is the token rotated last and the client's `refresh_reuse_grace_seconds` (default 0) has not passed since: then it is refused and the session lives on. Of concurrent refreshes with one token exactly one succeeds.",
      },
      { status: 403, code: 'session_binding_mismatch', when: 'the session is bound to another IP address (or client_attributes.ip_address is missing); nothing is rotated or ended' },
    ],
    capabilities: ['sign', 'hash-key', 'audit'],
    table: { read: ['user'], write: ['session'] },
  },
  {
    name: 'auth-session',
    method: 'POST',
    path: '/cis/v1/auth/session/authenticate',
    auth: 'client',
    tag: 'Sessions',
    summary: 'Fresh tokens for a live session (adds no authentication)',
    body: 'SessionAuthenticateRequest',
    success: { status: 200, description: 'Tokens for the session', schema: 'TokenResponse' },
    errors: SESSION_ERRORS,
    capabilities: ['sign', 'hash-key', 'audit'],
    table: { read: ['user'], write: ['session'] },
  },
  {
    name: 'auth-logout',
    method: 'POST',
    path: '/cis/v1/auth/session/logout',
    auth: 'client',
    tag: 'Sessions',
    summary: 'End a session and every refresh token in it',
    body: 'LogoutRequest',
    success: { status: 204, description: 'Ended (also when it had already ended)' },
    errors: [
      { status: 400, code: 'session_not_found', when: 'unknown session or one of another client' },
      { status: 403, code: 'session_binding_mismatch', when: 'the session is bound to another IP address (or client_attributes.ip_address is missing); it lives on' },
    ],
    capabilities: ['audit'],
    table: { write: ['session'] },
  },
  // ---- recovery codes ----
  {
    name: 'auth-recovery-codes-generate',
    method: 'POST',
    path: '/cis/v1/auth/recovery-codes',
    auth: 'user',
    tag: 'Authentication',
    summary: 'Generate 10 single-use recovery codes, shown only here; they replace any earlier set at once, and replacing one ends every other session of the user',
    body: 'RecoveryCodesGenerateRequest',
    bodyOptional: true,
    success: { status: 201, description: 'The new codes', schema: 'RecoveryCodesResponse' },
    errors: [
      {
        status: 403,
        code: 'auth_mfa_required',
        when: "the token's session does not hold authentications of two factor classes within the client's enrolment_max_age_seconds (default 900), whatever the client's MFA policy; nothing is stored",
      },
      ENROLMENT_ERRORS[1]!,
    ],
    capabilities: ['hash-key', 'audit'],
    table: { write: ['recoveryCodes', 'user', 'session'] },
  },
  {
    name: 'auth-recovery-codes-authenticate',
    method: 'POST',
    path: '/cis/v1/auth/recovery-codes/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with a recovery code (amr recovery_code, its own factor class); each code works once',
    body: 'RecoveryCodeAuthenticateRequest',
    success: { status: 200, description: 'Tokens for the session, and how many codes remain', schema: 'RecoveryTokenResponse' },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'wrong, used or replaced code, unknown user, or no codes (the same answer)' },
      { status: 403, code: 'auth_locked', when: 'the 10th attempt of a run (right or wrong; a run ends after 15 minutes without attempts) locks for 15 minutes' },
      ...SESSION_ERRORS,
    ],
    capabilities: ['sign', 'hash-key', 'audit'],
    table: { read: ['emailClaim', 'phoneClaim', 'usernameClaim', 'user'], write: ['recoveryCodes', 'recoveryGuesses', 'session'] },
  },
  // ---- passkeys (WebAuthn) ----------------------------------------------------
  {
    name: 'auth-webauthn-register-start',
    method: 'POST',
    path: '/cis/v1/auth/webauthn/register/start',
    auth: 'user',
    tag: 'Authentication',
    summary: "Start registering a passkey for the token's user: WebAuthn creation options with a challenge bound to this session (5 minutes, single use)",
    body: 'WebAuthnRegisterStartRequest',
    bodyOptional: true,
    success: { status: 200, description: 'Creation options for navigator.credentials.create()', schema: 'WebAuthnRegisterStartResponse' },
    errors: [{ status: 403, code: 'forbidden', when: 'passkeys are not configured for this client (webauthn_rp_id, webauthn_origins)' }, ...ENROLMENT_ERRORS],
    capabilities: ['audit'],
    table: { read: ['recoveryCodes'], write: ['webauthnChallenge'] },
  },
  {
    name: 'auth-webauthn-register',
    method: 'POST',
    path: '/cis/v1/auth/webauthn/register',
    auth: 'user',
    tag: 'Authentication',
    summary: 'Finish registering a passkey with the browser result',
    body: 'WebAuthnRegisterRequest',
    success: { status: 201, description: 'The registered passkey', schema: 'WebAuthnCredential' },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'unknown, expired, used or foreign challenge; wrong origin or RP ID; user not verified when required; a passkey already registered; a malformed result' },
      { status: 403, code: 'forbidden', when: 'passkeys are not configured for this client' },
      ...ENROLMENT_ERRORS,
    ],
    capabilities: ['audit'],
    table: { read: ['recoveryCodes'], write: ['webauthnChallenge', 'webauthnCredential', 'user'] },
  },
  {
    name: 'auth-webauthn-authenticate-start',
    method: 'POST',
    path: '/cis/v1/auth/webauthn/authenticate/start',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Start a passkey login: WebAuthn request options with an empty allowCredentials (a discoverable-passkey login), the same for every username, known or not; a username binds the challenge to that user',
    body: 'WebAuthnAuthenticateStartRequest',
    success: { status: 200, description: 'Request options for navigator.credentials.get()', schema: 'WebAuthnAuthenticateStartResponse' },
    errors: [{ status: 403, code: 'forbidden', when: 'passkeys are not configured for this client' }],
    table: { read: ['emailClaim', 'phoneClaim', 'usernameClaim', 'user'], write: ['webauthnChallenge'] },
  },
  {
    name: 'auth-webauthn-authenticate',
    method: 'POST',
    path: '/cis/v1/auth/webauthn/authenticate',
    auth: 'client',
    tag: 'Authentication',
    summary: 'Authenticate with a passkey (method `webauthn`)',
    body: 'WebAuthnAuthenticateRequest',
    success: { status: 200, description: 'Tokens for the session', schema: 'TokenResponse' },
    errors: [
      { status: 400, code: 'auth_invalid_credentials', when: 'unknown passkey or challenge, a replayed result, wrong signature, origin or RP ID, user not verified when required, a counter that did not advance, no user handle, a passkey not of the user the login was started for' },
      { status: 403, code: 'forbidden', when: 'passkeys are not configured for this client' },
      ...SESSION_ERRORS,
    ],
    capabilities: ['sign', 'hash-key', 'audit'],
    table: { read: ['webauthnCredential'], write: ['webauthnChallenge', 'user', 'session'] },
  },
  {
    name: 'users-sessions-list',
    method: 'GET',
    path: '/cis/v1/users/{user_id}/sessions',
    auth: 'client',
    tag: 'Sessions',
    summary: "The calling client's live sessions of a user, for a \"where am I signed in\" page",
    params: 'UserIdParams',
    success: { status: 200, description: "The client's live sessions of the user (never another client's, never an ended or expired one); a session created a moment ago may take a moment to appear", schema: 'UserSessionList' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    capabilities: ['audit'],
    table: { read: ['user', 'session', 'sessionsOf'] },
  },
  {
    name: 'users-sessions-logout',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/sessions/logout',
    auth: 'client',
    tag: 'Sessions',
    summary: 'End every session of a user, at every client, without disabling the user',
    params: 'UserIdParams',
    success: { status: 204, description: 'Every session of the user has ended, logins in flight included; the user may log in again at once' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    capabilities: ['audit'],
    table: { write: ['user'] },
  },
  {
    name: 'users-webauthn-credentials-list',
    method: 'GET',
    path: '/cis/v1/users/{user_id}/webauthn-credentials',
    auth: 'client',
    tag: 'Users',
    summary: "List a user's passkeys",
    params: 'UserIdParams',
    success: { status: 200, description: 'The passkeys (never their public keys)', schema: 'WebAuthnCredentialList' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    table: { read: ['user'] },
  },
  {
    name: 'users-webauthn-credentials-delete',
    method: 'DELETE',
    path: '/cis/v1/users/{user_id}/webauthn-credentials/{credential_id}',
    auth: 'client',
    tag: 'Users',
    summary: "Delete one of a user's passkeys; it stops working at once and every session of the user ends",
    params: 'WebAuthnCredentialParams',
    success: { status: 204, description: 'Deleted' },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 404, code: 'webauthn_credential_not_found', when: 'the user has no passkey with this id' },
    ],
    capabilities: ['audit'],
    table: { write: ['user', 'webauthnCredential'] },
  },
  // ---- factor lifecycle ---------------------------------------------------------
  {
    name: 'users-authenticators-list',
    method: 'GET',
    path: '/cis/v1/users/{user_id}/authenticators',
    auth: 'client',
    tag: 'Users',
    summary: "List every factor the user holds: password, verified email and phone, authenticator app, passkeys, recovery codes (with how many remain)",
    params: 'UserIdParams',
    success: { status: 200, description: 'The factors (never a secret)', schema: 'AuthenticatorList' },
    errors: [{ status: 404, code: 'user_not_found', when: 'no such user' }],
    table: { read: ['user', 'recoveryCodes'] },
  },
  {
    name: 'users-totp-revoke',
    method: 'POST',
    path: '/cis/v1/users/{user_id}/totp/revoke',
    auth: 'client',
    tag: 'Users',
    summary: "Remove the user's authenticator app (working or pending); it stops working at once and every session of the user ends",
    params: 'UserIdParams',
    body: 'TotpRevokeRequest',
    bodyOptional: true,
    success: { status: 204, description: 'Revoked' },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 404, code: 'authenticator_not_found', when: 'the user has no authenticator app, or authenticator_id names another' },
    ],
    capabilities: ['audit'],
    table: { write: ['user'] },
  },
  {
    name: 'users-recovery-codes-delete',
    method: 'DELETE',
    path: '/cis/v1/users/{user_id}/recovery-codes',
    auth: 'client',
    tag: 'Users',
    summary: "Remove the user's recovery codes; every code stops working and every session of the user ends",
    params: 'UserIdParams',
    success: { status: 204, description: 'Removed' },
    errors: [
      { status: 404, code: 'user_not_found', when: 'no such user' },
      { status: 404, code: 'authenticator_not_found', when: 'the user has no recovery codes' },
    ],
    capabilities: ['audit'],
    table: { write: ['user', 'recoveryCodes'] },
  },
];

export function routeNamed(name: string): RouteDefinition {
  const route = routes.find((r) => r.name === name);
  if (!route) throw new Error(`no route named ${name}`);
  return route;
}
