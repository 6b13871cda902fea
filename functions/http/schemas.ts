/**
 * THE request and response schemas. The same objects validate requests (see
 * functions/http/endpoint.ts) and generate the OpenAPI document
 * (functions/http/openapi.ts), so the two cannot drift.
 *
 * Authentication requests strip unknown fields: optional fields of the
 * upstream API that Twofold does not support (`resource`, `org_id`,
 * `device_id`, ...) are accepted and ignored. User create and update are
 * strict instead: a profile field Twofold does not keep is refused (400),
 * never answered with a success that silently dropped it.
 *
 * Every schema is `lazy`: built the first time it is asked for, then reused.
 * A cold start builds none of them, and the first request builds only its
 * route's; the OpenAPI generator asks for all of them.
 */
import '../zod-english.js';
import * as z from 'zod/mini';

/** A schema built on first use and reused after: call it for the schema. */
export type Lazy<T extends z.ZodMiniType = z.ZodMiniType> = () => T;

/** The value a lazy schema parses to. */
export type Parsed<L extends Lazy> = z.output<ReturnType<L>>;

// @__NO_SIDE_EFFECTS__
function lazy<T extends z.ZodMiniType>(build: () => T): Lazy<T> {
  let built: T | undefined;
  return () => (built ??= build());
}

/** A copy of `schema` carrying `metadata` in the global registry, where the OpenAPI generator reads it (zod classic's `.meta()`). */
function meta<T extends z.ZodMiniType>(schema: T, metadata: z.core.GlobalMeta): T {
  const copy = schema.clone();
  z.globalRegistry.add(copy, metadata);
  return copy;
}

// ---- shared pieces -------------------------------------------------------

export const LIMITS = {
  bodyBytes: 16 * 1024,
  email: 254,
  identifier: 320,
  id: 128,
  username: 128,
  name: 256,
  passwordMax: 256,
  passwordMin: 8,
  userAgent: 512,
  uri: 2048,
  state: 1024,
  emailText: 2000,
  smsTemplate: 280,
} as const;

/** A string at most `max` characters long. */
const maxString = (max: number) => z.string().check(z.maxLength(max));
/** A string trimmed, then 1 to `max` characters long. */
const trimmedString = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));
const described = <T extends z.ZodMiniType>(schema: T, description: string) => meta(schema, { description });
const ACCEPTED_AND_IGNORED = 'Accepted and ignored.';

export const Email = lazy(() =>
  meta(z.pipe(z.string().check(z.trim(), z.maxLength(LIMITS.email)), z.email({ message: 'must be an email address' })), {
    description: 'Email address; matched case-insensitively (stored trimmed and lower-cased).',
    example: 'ada@example.com',
  }),
);

export const PhoneNumber = lazy(() =>
  meta(z.string().check(z.trim(), z.regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +15551234567')), {
    description: 'E.164 phone number.',
    example: '+15551234567',
  }),
);

export const Username = lazy(() => meta(trimmedString(LIMITS.username), { example: 'ada' }));
export const Id = lazy(() => z.string().check(z.minLength(1), z.maxLength(LIMITS.id)));
/** Passwords are checked for length and commonness by the core after NFC normalisation. */
export const Password = lazy(() =>
  described(z.string().check(z.minLength(1), z.maxLength(LIMITS.passwordMax * 4)), '8 to 256 characters after NFC normalisation; common passwords are refused.'),
);

export const ClientAttributes = lazy(() =>
  meta(
    z.object({
      ip_address: described(z.optional(z.union([z.ipv4(), z.ipv6()])), "The end user's IP address. A new session is bound to it unless the client turned binding off."),
      user_agent: z.optional(maxString(LIMITS.userAgent)),
    }),
    { id: 'ClientAttributes', description: "The end user's attributes, passed on by the calling backend." },
  ),
);

export const SessionId = lazy(() => described(Id(), 'A session created by an earlier authentication of this client.'));

export const MaxAge = lazy(() =>
  meta(z.number().check(z.int(), z.gte(0)), {
    description:
      "Seconds (OIDC max_age, RFC 9470 step-up): authentications older than this are left out of this response's `amr`, `amr_at` and `mfa`; the session keeps them and `auth_time` stays the latest. A factor at epoch second T is fresh while T + max_age >= the token's iat (exactly max_age old is still fresh).",
    example: 300,
  }),
);

export const IdentifierType = lazy(() => z.enum(['email', 'phone_number', 'user_id', 'username']));

/** Transmit's `ApiUserNameInput` / `ApiUserName`: a name is an object of parts, never a bare string. */
export const UserName = lazy(() =>
  meta(
    z.strictObject({
      title: z.optional(maxString(LIMITS.name)),
      first_name: z.optional(maxString(LIMITS.name)),
      last_name: z.optional(maxString(LIMITS.name)),
      middle_name: z.optional(maxString(LIMITS.name)),
    }),
    { id: 'UserName', description: "The user's full name in parts (the upstream `ApiUserName`). Replaced as a whole on update." },
  ),
);

/**
 * OIDC claims request (`claims` parameter, OpenID Connect Core 5.5): the
 * claims named under `id_token` that Twofold holds for the user (`username`,
 * `name`, `email`, `email_verified`, `phone_number`, `phone_number_verified`)
 * are added to the ID token; others (`roles`, ...) and `access_token` requests
 * are accepted and ignored.
 */
export const ClaimsRequest = lazy(() =>
  meta(
    z.object({
      id_token: z.optional(z.record(maxString(128), z.unknown())),
      access_token: described(z.optional(z.record(maxString(128), z.unknown())), ACCEPTED_AND_IGNORED),
    }),
    {
      id: 'ClaimsRequest',
      description:
        'OIDC claims request, e.g. `{"id_token": {"username": null}}`. Of the claims named under `id_token`, those Twofold holds are added to the ID token: `username`, `name` (the name parts joined by spaces, an OIDC string), `email`, `email_verified`, `phone_number`, `phone_number_verified`. Other claims are ignored.',
      example: { id_token: { username: null } },
    },
  ),
);

// ---- responses -----------------------------------------------------------

export const IsoDateTime = lazy(() => meta(z.string(), { format: 'date-time', example: '2026-01-15T12:00:00.000Z' }));

export const ErrorBody = lazy(() => meta(z.object({ error_code: meta(z.string(), { example: 'system_invalid_input' }), message: z.string() }), { id: 'Error' }));

export const OAuthErrorBody = lazy(() =>
  meta(z.object({ error: meta(z.string(), { example: 'invalid_client' }), error_description: z.optional(z.string()) }), { id: 'OAuthError' }),
);

export const TokenResponse = lazy(() =>
  meta(
    z.object({
      access_token: z.string(),
      id_token: z.string(),
      refresh_token: z.string(),
      token_type: z.literal('Bearer'),
      expires_in: meta(z.number().check(z.int()), { example: 3600 }),
      session_id: z.string(),
    }),
    { id: 'TokenResponse' },
  ),
);

export const RefreshTokenResponse = lazy(() => meta(z.omit(TokenResponse(), { session_id: true }), { id: 'RefreshTokenResponse' }));

export const ClientTokenResponse = lazy(() =>
  meta(
    z.object({
      access_token: z.string(),
      token_type: z.literal('Bearer'),
      expires_in: z.number().check(z.int()),
      scope: z.string(),
    }),
    { id: 'ClientTokenResponse' },
  ),
);

export const User = lazy(() =>
  meta(
    z.object({
      user_id: z.string(),
      email: z.optional(
        z.object({
          value: z.string(),
          email_verified: z.boolean(),
          verified_at: described(z.optional(IsoDateTime()), 'When the email was last verified (ISO 8601 date-time, as upstream).'),
        }),
      ),
      phone_number: z.optional(
        z.object({
          value: z.string(),
          phone_number_verified: z.boolean(),
          verified_at: described(z.optional(IsoDateTime()), 'When the phone number was last verified (ISO 8601 date-time, as upstream).'),
        }),
      ),
      username: z.optional(z.string()),
      name: z.optional(UserName()),
      status: described(z.enum(['Active', 'Disabled']), '`Disabled` users cannot authenticate and have no working session. (Upstream also has `Pending`, which Twofold never sets.)'),
      status_changed_at: described(z.optional(IsoDateTime()), 'When the status last changed (ISO 8601 date-time, as upstream); absent until it first changes.'),
      created_at: described(z.number(), 'Epoch milliseconds (a number, as upstream).'),
      updated_at: described(z.number(), 'Epoch milliseconds (a number, as upstream).'),
    }),
    {
      id: 'User',
      description:
        "Transmit's `ApiUser`, restricted to the fields Twofold keeps: no secondary contacts, address, birthday, custom data or identities. Never a password hash, TOTP seed or counter.",
    },
  ),
);

export const UserResult = lazy(() => z.object({ result: User() }));
export const TrueResult = lazy(() => z.object({ result: z.literal(true) }));

export const Jwks = lazy(() => meta(z.object({ keys: z.array(z.record(z.string(), z.unknown())) }), { id: 'JWKS' }));
export const Discovery = lazy(() =>
  z.object({
    issuer: z.string(),
    jwks_uri: z.string(),
    token_endpoint: z.string(),
    id_token_signing_alg_values_supported: z.array(z.string()),
    response_types_supported: described(
      z.array(z.string()),
      'Always `["id_token"]`: OpenID Connect Discovery requires the field, and Twofold has no authorization endpoint; its authentication endpoints answer the ID token itself, never an authorization code.',
    ),
    subject_types_supported: z.array(z.string()),
  }),
);

// ---- requests ------------------------------------------------------------

export const ClientCredentialsRequest = lazy(() =>
  meta(
    z.object({
      grant_type: described(z.string().check(z.minLength(1), z.maxLength(64)), 'Must be `client_credentials`.'),
      client_id: described(z.optional(maxString(LIMITS.id)), 'Or HTTP Basic.'),
      client_secret: described(z.optional(maxString(256)), 'Or HTTP Basic.'),
      resource: described(z.optional(maxString(LIMITS.uri)), ACCEPTED_AND_IGNORED),
    }),
    { id: 'ClientCredentialsRequest' },
  ),
);

const ForceReplace = lazy(() =>
  described(
    z.optional(z.boolean()),
    'Transmit: `true` (its default) makes the password temporary, to be replaced at the next login. Twofold has no temporary passwords: every password is permanent, and `true` is refused with 400 `system_invalid_input`.',
  ),
);

export const Credentials = lazy(() => meta(z.object({ password: Password(), force_replace: ForceReplace() }), { id: 'Credentials' }));

export const CreateUserRequest = lazy(() =>
  meta(
    // Strict: a profile field Twofold does not keep (birthday, address, custom_data, ...) is refused, never silently dropped.
    z
      .strictObject({
        email: z.optional(Email()),
        phone_number: z.optional(PhoneNumber()),
        username: z.optional(Username()),
        name: z.optional(UserName()),
        credentials: z.optional(Credentials()),
      })
      .check(
        z.refine((v) => v.email !== undefined || v.phone_number !== undefined || v.username !== undefined, {
          message: 'at least one of email, phone_number and username is required',
        }),
      ),
    {
      id: 'CreateUserRequest',
      description:
        'At least one of email, phone_number, username (username-only users log in with a password). Upstream profile fields Twofold does not keep (`secondary_emails`, `birthday`, `address`, `custom_data`, ...) are refused with 400 `system_invalid_input` rather than dropped.',
    },
  ),
);

export const UpdateUserRequest = lazy(() =>
  meta(
    // Strict: a 200 means every field sent was applied; anything else is 400 system_invalid_input.
    z.strictObject({
      email: z.optional(Email()),
      phone_number: z.optional(PhoneNumber()),
      username: z.optional(Username()),
      name: z.optional(UserName()),
      status: described(
        z.optional(z.enum(['Active', 'Disabled'])),
        '`Disabled` ends every session of the user at once and refuses every authentication (user access tokens included); `Active` re-enables login, and the sessions ended by disabling stay ended. Upstream `Pending` is refused (400).',
      ),
    }),
    {
      id: 'UpdateUserRequest',
      description:
        'Fields not sent are left alone; a changed contact becomes unverified. Upstream fields Twofold does not keep (`secondary_emails`, `birthday`, `address`, `custom_data`, `external_user_id`, ...) are refused with 400 `system_invalid_input`: a 200 always means every field sent was applied.',
    },
  ),
);

export const UserIdParams = lazy(() => z.object({ user_id: Id() }));
export const UsernameParams = lazy(() => z.object({ username: Username() }));
export const EmailParams = lazy(() => z.object({ email: Email() }));
export const PhoneNumberParams = lazy(() => z.object({ phone_number: PhoneNumber() }));

export const CreatePasswordRequest = lazy(() =>
  meta(
    z.object({
      password: Password(),
      force_replace: ForceReplace(),
      username: described(z.optional(Username()), "Sets the user's username (unique; 409 `user_already_exists` when taken), to log in with."),
      enforce_complexity: described(z.optional(z.boolean()), 'Accepted; the password policy always applies.'),
      device_id: described(z.optional(maxString(LIMITS.id)), ACCEPTED_AND_IGNORED),
    }),
    { id: 'CreatePasswordRequest' },
  ),
);

export const UpdatePasswordRequest = lazy(() =>
  meta(
    z.object({
      password: Password(),
      force_replace: ForceReplace(),
      device_id: described(z.optional(maxString(LIMITS.id)), ACCEPTED_AND_IGNORED),
    }),
    { id: 'UpdatePasswordRequest' },
  ),
);

export const PasswordResult = lazy(() => meta(z.object({ result: z.object({ message: z.literal('Password registered') }) }), { id: 'PasswordResult' }));

export const PasswordAuthenticateRequest = lazy(() =>
  meta(
    z.object({
      username: trimmedString(LIMITS.identifier),
      password: Password(),
      username_type: described(z.optional(z.enum(['username', 'email', 'phone_number'])), 'Default `username`.'),
      session_id: z.optional(SessionId()),
      client_attributes: z.optional(ClientAttributes()),
      max_age: z.optional(MaxAge()),
      claims: z.optional(ClaimsRequest()),
    }),
    { id: 'PasswordAuthenticateRequest' },
  ),
);

export const EmailContent = lazy(() =>
  meta(
    z.object({
      subject: z.optional(maxString(200)),
      primaryColor: z.optional(maxString(32)),
      headerText: z.optional(maxString(LIMITS.emailText)),
      bodyText: z.optional(maxString(LIMITS.emailText)),
      linkText: z.optional(maxString(200)),
      infoText: z.optional(maxString(LIMITS.emailText)),
      footerText: z.optional(maxString(LIMITS.emailText)),
    }),
    { id: 'EmailContent', description: 'Plain-text parts of the email; HTML-escaped into the template.' },
  ),
);

export const OtpSendRequest = lazy(() =>
  meta(
    z.object({
      channel: z.enum(['email', 'sms', 'direct']),
      identifier_type: IdentifierType(),
      identifier: trimmedString(LIMITS.identifier),
      expires_in: described(z.optional(z.number().check(z.int(), z.gte(1), z.lte(10))), 'Minutes, default 5, max 10.'),
      email_content: z.optional(EmailContent()),
      custom_sms_input: z.optional(
        z.object({
          custom_message: described(maxString(LIMITS.smsTemplate), 'Must contain `{otp}` and `{app}`; at most 140 characters after substitution.'),
        }),
      ),
      client_attributes: z.optional(ClientAttributes()),
      generate_request_id: z.optional(z.boolean()),
    }),
    { id: 'OtpSendRequest' },
  ),
);

export const OtpSendResponse = lazy(() =>
  meta(z.object({ message: z.literal('OTP sent'), request_id: z.optional(z.string()), code: z.optional(z.string()) }), { id: 'OtpSendResponse' }),
);

export const OtpAuthenticateRequest = lazy(() =>
  meta(
    z.object({
      passcode: trimmedString(16),
      identifier_type: IdentifierType(),
      identifier: trimmedString(LIMITS.identifier),
      session_id: z.optional(SessionId()),
      request_id: z.optional(maxString(LIMITS.id)),
      client_attributes: z.optional(ClientAttributes()),
      max_age: z.optional(MaxAge()),
      claims: z.optional(ClaimsRequest()),
    }),
    { id: 'OtpAuthenticateRequest' },
  ),
);

export const SessionAuthenticateRequest = lazy(() =>
  meta(
    z.object({ session_id: SessionId(), client_attributes: z.optional(ClientAttributes()), max_age: z.optional(MaxAge()), claims: z.optional(ClaimsRequest()) }),
    { id: 'SessionAuthenticateRequest' },
  ),
);

export const LogoutRequest = lazy(() =>
  meta(
    z.object({ session_id: SessionId(), client_attributes: described(z.optional(ClientAttributes()), 'Required (with ip_address) for a session bound to an IP.') }),
    { id: 'LogoutRequest' },
  ),
);

export const VerificationSendEmailRequest = lazy(() => meta(z.object({ email: Email() }), { id: 'EmailVerificationSendRequest' }));
export const VerificationVerifyEmailRequest = lazy(() =>
  meta(z.object({ email: Email(), passcode: trimmedString(16) }), { id: 'EmailVerificationVerifyRequest' }),
);
export const VerificationSendPhoneRequest = lazy(() => meta(z.object({ phone_number: PhoneNumber() }), { id: 'PhoneVerificationSendRequest' }));
export const VerificationVerifyPhoneRequest = lazy(() =>
  meta(z.object({ phone_number: PhoneNumber(), passcode: trimmedString(16) }), { id: 'PhoneVerificationVerifyRequest' }),
);

export const LinkSendRequest = lazy(() =>
  meta(
    z
      .object({
        identifier_type: described(z.optional(IdentifierType()), 'Default `email` when the legacy `email` field is used.'),
        identifier: z.optional(trimmedString(LIMITS.identifier)),
        email: described(z.optional(Email()), 'Legacy form of identifier_type=email + identifier.'),
        redirect_uri: described(maxString(LIMITS.uri), "Must exactly match one of the client's allowed redirect URIs."),
        state: z.optional(maxString(LIMITS.state)),
        email_expiration: described(z.optional(z.number().check(z.int(), z.gte(1), z.lte(60))), 'Minutes, default 15, max 60.'),
        channel: z.optional(z.enum(['email', 'direct'])),
        email_content: z.optional(EmailContent()),
        client_attributes: z.optional(ClientAttributes()),
      })
      .check(z.refine((v) => v.identifier !== undefined || v.email !== undefined, { message: 'identifier (or the legacy email) is required' })),
    { id: 'LinkSendRequest' },
  ),
);

export const LinkSendResponse = lazy(() =>
  meta(z.object({ message: z.string(), link: described(z.optional(z.string()), 'Only with channel=direct.') }), { id: 'LinkSendResponse' }),
);

export const LinkAuthenticateRequest = lazy(() =>
  meta(
    z.object({
      code: z.string().check(z.minLength(1), z.maxLength(256)),
      session_id: z.optional(SessionId()),
      client_attributes: z.optional(ClientAttributes()),
      max_age: z.optional(MaxAge()),
      claims: z.optional(ClaimsRequest()),
    }),
    { id: 'LinkAuthenticateRequest' },
  ),
);

export const RefreshRequest = lazy(() =>
  meta(
    z.object({
      refresh_token: z.string().check(z.minLength(1), z.maxLength(512)),
      client_attributes: described(z.optional(ClientAttributes()), 'Required (with ip_address) for a session bound to an IP.'),
    }),
    { id: 'RefreshRequest' },
  ),
);

export const TotpRegisterRequest = lazy(() =>
  meta(
    z.object({
      label: described(
        z.optional(trimmedString(LIMITS.username)),
        "Account name shown in the authenticator app. Default: the user's email, else username, else phone number, else user_id.",
      ),
      allow_override: described(
        z.optional(z.boolean()),
        'Replace an authenticator that already works (one a code has been accepted from). Without it that is 409 `auth_totp_already_configured`. A pending one is replaced without it. Either way the session must be allowed to add a factor (403 `auth_mfa_required`, see "Factor lifecycle").',
      ),
      device_id: described(z.optional(maxString(80)), ACCEPTED_AND_IGNORED),
      client_attributes: described(z.optional(ClientAttributes()), 'Required (with ip_address) when the session of the user access token is bound to an IP: the token works only from that IP.'),
    }),
    { id: 'TotpRegisterRequest' },
  ),
);

export const TotpRegistrationResponse = lazy(() =>
  meta(
    z.object({
      secret: described(z.string(), 'Base32 seed (160 bits), shown only here.'),
      uri: described(z.string(), '`otpauth://totp/<issuer>:<label>?secret=…&issuer=…` for a QR code.'),
    }),
    { id: 'TotpRegistration' },
  ),
);

export const TotpAuthenticateRequest = lazy(() =>
  meta(
    z.object({
      token: described(trimmedString(16), 'The code the authenticator app shows (upstream field name).'),
      identifier_type: described(z._default(IdentifierType(), 'email'), 'Default `email`, as upstream.'),
      identifier: trimmedString(LIMITS.identifier),
      session_id: z.optional(SessionId()),
      client_attributes: z.optional(ClientAttributes()),
      max_age: z.optional(MaxAge()),
      claims: z.optional(ClaimsRequest()),
    }),
    { id: 'TotpAuthenticateRequest' },
  ),
);

// ---- recovery codes ------------------------------------------------------

export const RecoveryCodesGenerateRequest = lazy(() => meta(z.object({ client_attributes: described(z.optional(ClientAttributes()), 'Required (with ip_address) when the session of the user access token is bound to an IP: the token works only from that IP.') }), { id: 'RecoveryCodesGenerateRequest' }));

export const RecoveryCodesResponse = lazy(() =>
  meta(
    z.object({
      codes: described(
        z.array(meta(z.string(), { example: '7K3M-Q9TX-2D4H' })),
        'Ten single-use codes, shown only here: 12 characters of Crockford base32 (60 random bits) as XXXX-XXXX-XXXX.',
      ),
    }),
    { id: 'RecoveryCodes' },
  ),
);

export const RecoveryCodeAuthenticateRequest = lazy(() =>
  meta(
    z.object({
      identifier_type: IdentifierType(),
      identifier: trimmedString(LIMITS.identifier),
      code: described(
        z.string().check(z.minLength(1), z.maxLength(64)),
        'One recovery code; case-insensitive, separators (spaces, dashes) ignored, O read as 0 and I, L as 1.',
      ),
      session_id: z.optional(SessionId()),
      client_attributes: z.optional(ClientAttributes()),
      max_age: z.optional(MaxAge()),
      claims: z.optional(ClaimsRequest()),
    }),
    { id: 'RecoveryCodeAuthenticateRequest' },
  ),
);

export const RecoveryTokenResponse = lazy(() =>
  meta(
    z.extend(TokenResponse(), {
      recovery_codes_remaining: meta(z.number().check(z.int(), z.gte(0)), { description: 'Unused codes left in the set after this one.', example: 9 }),
    }),
    { id: 'RecoveryTokenResponse' },
  ),
);

// ---- passkeys (WebAuthn) ---------------------------------------------------

const WebAuthnEncodedResult = lazy(() =>
  described(
    z.string().check(z.minLength(1), z.maxLength(12_000), z.regex(/^[A-Za-z0-9_-]+=*$/, 'must be base64url')),
    'base64url of the UTF-8 JSON of `PublicKeyCredential.toJSON()` as the browser returned it.',
  ),
);

export const WebAuthnRegisterStartRequest = lazy(() =>
  meta(
    z.object({
      display_name: described(z.optional(trimmedString(64)), 'The account name the authenticator shows; default the username, email or phone number.'),
      client_attributes: described(z.optional(ClientAttributes()), 'Required (with ip_address) when the session of the user access token is bound to an IP: the token works only from that IP.'),
    }),
    { id: 'WebAuthnRegisterStartRequest' },
  ),
);

const CredentialDescriptor = lazy(() => z.object({ type: z.literal('public-key'), id: z.string(), transports: z.array(z.string()) }));

export const WebAuthnRegisterStartResponse = lazy(() =>
  meta(
    z.object({
      webauthn_session_id: z.string(),
      credential_creation_options: described(
        z.object({
          rp: z.object({ id: z.string(), name: z.string() }),
          user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
          challenge: z.string(),
          pubKeyCredParams: z.array(z.object({ type: z.literal('public-key'), alg: z.number() })),
          timeout: z.number(),
          excludeCredentials: z.array(CredentialDescriptor()),
          authenticatorSelection: z.object({ residentKey: z.string(), requireResidentKey: z.boolean(), userVerification: z.enum(['required', 'preferred']) }),
          attestation: z.literal('none'),
          extensions: z.record(z.string(), z.unknown()),
        }),
        '`PublicKeyCredentialCreationOptionsJSON`: pass to `PublicKeyCredential.parseCreationOptionsFromJSON()`, then `navigator.credentials.create()`.',
      ),
    }),
    { id: 'WebAuthnRegisterStartResponse' },
  ),
);

export const WebAuthnRegisterRequest = lazy(() =>
  meta(z.object({ webauthn_encoded_result: WebAuthnEncodedResult(), client_attributes: described(z.optional(ClientAttributes()), 'Required (with ip_address) when the session of the user access token is bound to an IP: the token works only from that IP.') }), { id: 'WebAuthnRegisterRequest' }),
);

export const WebAuthnCredential = lazy(() =>
  meta(
    z.object({
      id: described(z.string(), 'The credential ID (base64url).'),
      name: described(z.string(), 'The authenticator model when known, else `Passkey`.'),
      display_name: z.optional(z.string()),
      status: z.literal('active'),
      first_seen: described(z.string(), 'Registered at (ISO 8601).'),
      last_seen: described(z.string(), 'Last used at (ISO 8601); the registration time until first used.'),
      passkey_type: z.enum(['synced', 'device_bound']),
      sync_status: z.optional(z.enum(['synced', 'not_synced'])),
      transports: z.array(z.string()),
      aaguid: z.string(),
    }),
    { id: 'WebAuthnCredential' },
  ),
);

export const WebAuthnCredentialList = lazy(() => meta(z.array(WebAuthnCredential()), { id: 'WebAuthnCredentialList' }));

export const UserSession = lazy(() =>
  meta(
    z.object({
      session_id: z.string(),
      created_at: described(z.number(), 'When the session was created (epoch ms, as a user\'s `created_at`).'),
      last_used_at: described(z.number(), 'Its latest use: an authentication, a refresh or a session/authenticate call (epoch ms).'),
      ip_address: described(z.optional(z.string()), 'The end user\'s IP the session was created from, when the caller passed `client_attributes.ip_address`.'),
      amr: described(z.array(z.string()), 'As in the ID token: each method authenticated in the session once, plus `mfa` when the client\'s policy is met.'),
      amr_at: described(z.record(z.string(), z.number()), 'As in the ID token: for each method in `amr` (not `mfa`), the epoch second of its latest authentication.'),
    }),
    { id: 'UserSession' },
  ),
);

export const UserSessionList = lazy(() =>
  meta(z.object({ result: described(z.array(UserSession()), 'Most recently used first; at most 200.') }), { id: 'UserSessionList' }),
);

export const WebAuthnAuthenticateStartRequest = lazy(() =>
  meta(
    z.object({
      username: described(
        z.optional(trimmedString(LIMITS.identifier)),
        "The user's username, email or E.164 phone number, when already known (e.g. after a password): binds the challenge to that user; the answer is the same either way.",
      ),
      timeout: described(z.optional(z.number().check(z.int(), z.gte(30), z.lte(600))), 'Seconds for the browser prompt (default 300); the challenge itself lives 5 minutes.'),
    }),
    { id: 'WebAuthnAuthenticateStartRequest' },
  ),
);

export const WebAuthnAuthenticateStartResponse = lazy(() =>
  meta(
    z.object({
      webauthn_session_id: z.string(),
      credential_request_options: described(
        z.object({
          challenge: z.string(),
          timeout: z.number(),
          rpId: z.string(),
          allowCredentials: described(
            z.array(CredentialDescriptor()),
            'Always empty: the browser offers its discoverable passkeys for the RP ID, so the answer reveals nothing about the username.',
          ),
          userVerification: z.enum(['required', 'preferred']),
        }),
        '`PublicKeyCredentialRequestOptionsJSON`: pass to `PublicKeyCredential.parseRequestOptionsFromJSON()`, then `navigator.credentials.get()`.',
      ),
    }),
    { id: 'WebAuthnAuthenticateStartResponse' },
  ),
);

export const WebAuthnAuthenticateRequest = lazy(() =>
  meta(
    z.object({
      webauthn_encoded_result: WebAuthnEncodedResult(),
      session_id: z.optional(SessionId()),
      client_attributes: z.optional(ClientAttributes()),
      max_age: z.optional(MaxAge()),
      claims: z.optional(ClaimsRequest()),
    }),
    { id: 'WebAuthnAuthenticateRequest' },
  ),
);

export const WebAuthnCredentialParams = lazy(() =>
  z.object({
    user_id: Id(),
    credential_id: z.string().check(z.minLength(1), z.maxLength(1400), z.regex(/^[A-Za-z0-9_-]+$/, 'must be base64url')),
  }),
);

// ---- factor lifecycle -------------------------------------------------------

export const TotpRevokeRequest = lazy(() =>
  meta(
    z.object({
      authenticator_id: described(z.optional(Id()), "The app's `id` in the authenticators list; without it, the user's app (a user has at most one)."),
    }),
    { id: 'TotpRevokeRequest' },
  ),
);

export const Authenticator = lazy(() =>
  meta(
    z.object({
      id: described(z.string(), 'Stable per factor: `password`, `email_otp`, `email_magic_link`, `sms_otp`, `recovery_codes`; the app\'s own id; a passkey\'s credential ID.'),
      type: z.enum(['password', 'email_otp', 'email_magic_link', 'sms_otp', 'totp', 'webauthn', 'recovery_codes']),
      name: z.optional(z.string()),
      status: described(z.enum(['Active', 'Registered']), '`Registered` until first used to authenticate (a pending authenticator app, a passkey never used), then `Active`.'),
      user_id: z.string(),
      created_at: described(z.string(), 'ISO 8601: when the factor was added (a contact: when it was verified).'),
      registered_at: described(z.string(), 'The same instant, under Transmit\'s name.'),
      last_used_at: described(z.optional(z.string()), 'ISO 8601: the last successful authentication with it, where Twofold keeps one (authenticator app: the start of the time step of its last code; passkey; recovery codes: the last code used).'),
      extra_data: described(
        z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
        'email_otp / email_magic_link: `email`, `verified`, `verified_at`; sms_otp: `phone_number`, `verified`, `verified_at`; webauthn: `aaguid`, `passkey_type`; recovery_codes: `remaining` (unused codes) and `total`.',
      ),
    }),
    { id: 'Authenticator' },
  ),
);

export const AuthenticatorList = lazy(() =>
  meta(z.object({ result: z.array(Authenticator()) }), {
    id: 'AuthenticatorList',
    description: 'Every factor the user holds. A contact is listed once verified; recovery codes while at least one is unused.',
  }),
);
