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
 */
import * as z from 'zod';

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

export const Email = z
  .string()
  .trim()
  .max(LIMITS.email)
  .pipe(z.email({ message: 'must be an email address' }))
  .meta({ description: 'Email address; matched case-insensitively (stored trimmed and lower-cased).', example: 'ada@example.com' });

export const PhoneNumber = z
  .string()
  .trim()
  .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +15551234567')
  .meta({ description: 'E.164 phone number.', example: '+15551234567' });

export const Username = z.string().trim().min(1).max(LIMITS.username).meta({ example: 'ada' });
export const Id = z.string().min(1).max(LIMITS.id);
/** Passwords are checked for length and commonness by the core after NFC normalisation. */
export const Password = z.string().min(1).max(LIMITS.passwordMax * 4).meta({ description: '8 to 256 characters after NFC normalisation; common passwords are refused.' });

export const ClientAttributes = z
  .object({
    ip_address: z.union([z.ipv4(), z.ipv6()]).optional().meta({ description: "The end user's IP address. A new session is bound to it unless the client turned binding off." }),
    user_agent: z.string().max(LIMITS.userAgent).optional(),
  })
  .meta({ id: 'ClientAttributes', description: "The end user's attributes, passed on by the calling backend." });

export const SessionId = Id.meta({ description: 'A session created by an earlier authentication of this client.' });

export const MaxAge = z
  .number()
  .int()
  .min(0)
  .meta({
    description:
      "Seconds (OIDC max_age, RFC 9470 step-up): authentications older than this are left out of this response's `amr`, `amr_at` and `mfa`; the session keeps them and `auth_time` stays the latest. A factor at epoch second T is fresh while T + max_age >= the token's iat (exactly max_age old is still fresh).",
    example: 300,
  });

export const IdentifierType = z.enum(['email', 'phone_number', 'user_id', 'username']);

/** Transmit's `ApiUserNameInput` / `ApiUserName`: a name is an object of parts, never a bare string. */
export const UserName = z
  .object({
    title: z.string().max(LIMITS.name).optional(),
    first_name: z.string().max(LIMITS.name).optional(),
    last_name: z.string().max(LIMITS.name).optional(),
    middle_name: z.string().max(LIMITS.name).optional(),
  })
  .strict()
  .meta({ id: 'UserName', description: "The user's full name in parts (the upstream `ApiUserName`). Replaced as a whole on update." });

/**
 * OIDC claims request (`claims` parameter, OpenID Connect Core 5.5): the
 * claims named under `id_token` that Twofold holds for the user (`username`,
 * `name`, `email`, `email_verified`, `phone_number`, `phone_number_verified`)
 * are added to the ID token; others (`roles`, ...) and `access_token` requests
 * are accepted and ignored.
 */
export const ClaimsRequest = z
  .object({
    id_token: z.record(z.string().max(128), z.unknown()).optional(),
    access_token: z.record(z.string().max(128), z.unknown()).optional().meta({ description: 'Accepted and ignored.' }),
  })
  .meta({
    id: 'ClaimsRequest',
    description:
      'OIDC claims request, e.g. `{"id_token": {"username": null}}`. Of the claims named under `id_token`, those Twofold holds are added to the ID token: `username`, `name` (the name parts joined by spaces, an OIDC string), `email`, `email_verified`, `phone_number`, `phone_number_verified`. Other claims are ignored.',
    example: { id_token: { username: null } },
  });

// ---- responses -----------------------------------------------------------

export const IsoDateTime = z.string().meta({ format: 'date-time', example: '2026-01-15T12:00:00.000Z' });

export const ErrorBody = z
  .object({ error_code: z.string().meta({ example: 'system_invalid_input' }), message: z.string() })
  .meta({ id: 'Error' });

export const OAuthErrorBody = z
  .object({ error: z.string().meta({ example: 'invalid_client' }), error_description: z.string().optional() })
  .meta({ id: 'OAuthError' });

export const TokenResponse = z
  .object({
    access_token: z.string(),
    id_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().meta({ example: 3600 }),
    session_id: z.string(),
  })
  .meta({ id: 'TokenResponse' });

export const RefreshTokenResponse = TokenResponse.omit({ session_id: true }).meta({ id: 'RefreshTokenResponse' });

export const ClientTokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    scope: z.string(),
  })
  .meta({ id: 'ClientTokenResponse' });

export const User = z
  .object({
    user_id: z.string(),
    email: z
      .object({
        value: z.string(),
        email_verified: z.boolean(),
        verified_at: IsoDateTime.optional().meta({ description: 'When the email was last verified (ISO 8601 date-time, as upstream).' }),
      })
      .optional(),
    phone_number: z
      .object({
        value: z.string(),
        phone_number_verified: z.boolean(),
        verified_at: IsoDateTime.optional().meta({ description: 'When the phone number was last verified (ISO 8601 date-time, as upstream).' }),
      })
      .optional(),
    username: z.string().optional(),
    name: UserName.optional(),
    status: z.enum(['Active', 'Disabled']).meta({ description: '`Disabled` users cannot authenticate and have no working session. (Upstream also has `Pending`, which Twofold never sets.)' }),
    status_changed_at: IsoDateTime.optional().meta({ description: 'When the status last changed (ISO 8601 date-time, as upstream); absent until it first changes.' }),
    created_at: z.number().meta({ description: 'Epoch milliseconds (a number, as upstream).' }),
    updated_at: z.number().meta({ description: 'Epoch milliseconds (a number, as upstream).' }),
  })
  .meta({
    id: 'User',
    description:
      "Transmit's `ApiUser`, restricted to the fields Twofold keeps: no secondary contacts, address, birthday, custom data or identities. Never a password hash, TOTP seed or counter.",
  });

export const UserResult = z.object({ result: User });
export const TrueResult = z.object({ result: z.literal(true) });

export const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).meta({ id: 'JWKS' });
export const Discovery = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
  token_endpoint: z.string(),
  id_token_signing_alg_values_supported: z.array(z.string()),
});

// ---- requests ------------------------------------------------------------

export const ClientCredentialsRequest = z
  .object({
    grant_type: z.string().min(1).max(64).meta({ description: 'Must be `client_credentials`.' }),
    client_id: z.string().max(LIMITS.id).optional().meta({ description: 'Or HTTP Basic.' }),
    client_secret: z.string().max(256).optional().meta({ description: 'Or HTTP Basic.' }),
    resource: z.string().max(LIMITS.uri).optional().meta({ description: 'Accepted and ignored.' }),
  })
  .meta({ id: 'ClientCredentialsRequest' });

const ForceReplace = z.boolean().optional().meta({
  description:
    'Transmit: `true` (its default) makes the password temporary, to be replaced at the next login. Twofold has no temporary passwords: every password is permanent, and `true` is refused with 400 `system_invalid_input`.',
});

export const Credentials = z.object({ password: Password, force_replace: ForceReplace }).meta({ id: 'Credentials' });

export const CreateUserRequest = z
  .object({
    email: Email.optional(),
    phone_number: PhoneNumber.optional(),
    username: Username.optional(),
    name: UserName.optional(),
    credentials: Credentials.optional(),
  })
  // Strict: a profile field Twofold does not keep (birthday, address, custom_data, ...) is refused, never silently dropped.
  .strict()
  .refine((v) => v.email !== undefined || v.phone_number !== undefined || v.username !== undefined, {
    message: 'at least one of email, phone_number and username is required',
  })
  .meta({
    id: 'CreateUserRequest',
    description:
      'At least one of email, phone_number, username (username-only users log in with a password). Upstream profile fields Twofold does not keep (`secondary_emails`, `birthday`, `address`, `custom_data`, ...) are refused with 400 `system_invalid_input` rather than dropped.',
  });

export const UpdateUserRequest = z
  .object({
    email: Email.optional(),
    phone_number: PhoneNumber.optional(),
    username: Username.optional(),
    name: UserName.optional(),
    status: z
      .enum(['Active', 'Disabled'])
      .optional()
      .meta({
        description:
          '`Disabled` ends every session of the user at once and refuses every authentication (user access tokens included); `Active` re-enables login, and the sessions ended by disabling stay ended. Upstream `Pending` is refused (400).',
      }),
  })
  // Strict: a 200 means every field sent was applied; anything else is 400 system_invalid_input.
  .strict()
  .meta({
    id: 'UpdateUserRequest',
    description:
      'Fields not sent are left alone; a changed contact becomes unverified. Upstream fields Twofold does not keep (`secondary_emails`, `birthday`, `address`, `custom_data`, `external_user_id`, ...) are refused with 400 `system_invalid_input`: a 200 always means every field sent was applied.',
  });

export const UserIdParams = z.object({ user_id: Id });
export const UsernameParams = z.object({ username: Username });
export const EmailParams = z.object({ email: Email });
export const PhoneNumberParams = z.object({ phone_number: PhoneNumber });

export const CreatePasswordRequest = z
  .object({
    password: Password,
    force_replace: ForceReplace,
    username: Username.optional().meta({ description: "Sets the user's username (unique; 409 `user_already_exists` when taken), to log in with." }),
    enforce_complexity: z.boolean().optional().meta({ description: 'Accepted; the password policy always applies.' }),
    device_id: z.string().max(LIMITS.id).optional().meta({ description: 'Accepted and ignored.' }),
  })
  .meta({ id: 'CreatePasswordRequest' });

export const UpdatePasswordRequest = z
  .object({
    password: Password,
    force_replace: ForceReplace,
    device_id: z.string().max(LIMITS.id).optional().meta({ description: 'Accepted and ignored.' }),
  })
  .meta({ id: 'UpdatePasswordRequest' });

export const PasswordResult = z
  .object({ result: z.object({ message: z.literal('Password registered') }) })
  .meta({ id: 'PasswordResult' });

export const PasswordAuthenticateRequest = z
  .object({
    username: z.string().trim().min(1).max(LIMITS.identifier),
    password: Password,
    username_type: z.enum(['username', 'email', 'phone_number']).optional().meta({ description: 'Default `username`.' }),
    session_id: SessionId.optional(),
    client_attributes: ClientAttributes.optional(),
    max_age: MaxAge.optional(),
    claims: ClaimsRequest.optional(),
  })
  .meta({ id: 'PasswordAuthenticateRequest' });

export const EmailContent = z
  .object({
    subject: z.string().max(200).optional(),
    primaryColor: z.string().max(32).optional(),
    headerText: z.string().max(LIMITS.emailText).optional(),
    bodyText: z.string().max(LIMITS.emailText).optional(),
    linkText: z.string().max(200).optional(),
    infoText: z.string().max(LIMITS.emailText).optional(),
    footerText: z.string().max(LIMITS.emailText).optional(),
  })
  .meta({ id: 'EmailContent', description: 'Plain-text parts of the email; HTML-escaped into the template.' });

export const OtpSendRequest = z
  .object({
    channel: z.enum(['email', 'sms', 'direct']),
    identifier_type: IdentifierType,
    identifier: z.string().trim().min(1).max(LIMITS.identifier),
    expires_in: z.number().int().min(1).max(10).optional().meta({ description: 'Minutes, default 5, max 10.' }),
    email_content: EmailContent.optional(),
    custom_sms_input: z
      .object({
        custom_message: z
          .string()
          .max(LIMITS.smsTemplate)
          .meta({ description: 'Must contain `{otp}` and `{app}`; at most 140 characters after substitution.' }),
      })
      .optional(),
    client_attributes: ClientAttributes.optional(),
    generate_request_id: z.boolean().optional(),
  })
  .meta({ id: 'OtpSendRequest' });

export const OtpSendResponse = z
  .object({ message: z.literal('OTP sent'), request_id: z.string().optional(), code: z.string().optional() })
  .meta({ id: 'OtpSendResponse' });

export const OtpAuthenticateRequest = z
  .object({
    passcode: z.string().trim().min(1).max(16),
    identifier_type: IdentifierType,
    identifier: z.string().trim().min(1).max(LIMITS.identifier),
    session_id: SessionId.optional(),
    request_id: z.string().max(LIMITS.id).optional(),
    client_attributes: ClientAttributes.optional(),
    max_age: MaxAge.optional(),
    claims: ClaimsRequest.optional(),
  })
  .meta({ id: 'OtpAuthenticateRequest' });

export const SessionAuthenticateRequest = z
  .object({ session_id: SessionId, client_attributes: ClientAttributes.optional(), max_age: MaxAge.optional(), claims: ClaimsRequest.optional() })
  .meta({ id: 'SessionAuthenticateRequest' });

export const LogoutRequest = z
  .object({ session_id: SessionId, client_attributes: ClientAttributes.optional().meta({ description: 'Required (with ip_address) for a session bound to an IP.' }) })
  .meta({ id: 'LogoutRequest' });

export const VerificationSendEmailRequest = z.object({ email: Email }).meta({ id: 'EmailVerificationSendRequest' });
export const VerificationVerifyEmailRequest = z
  .object({ email: Email, passcode: z.string().trim().min(1).max(16) })
  .meta({ id: 'EmailVerificationVerifyRequest' });
export const VerificationSendPhoneRequest = z.object({ phone_number: PhoneNumber }).meta({ id: 'PhoneVerificationSendRequest' });
export const VerificationVerifyPhoneRequest = z
  .object({ phone_number: PhoneNumber, passcode: z.string().trim().min(1).max(16) })
  .meta({ id: 'PhoneVerificationVerifyRequest' });

export const LinkSendRequest = z
  .object({
    identifier_type: IdentifierType.optional().meta({ description: 'Default `email` when the legacy `email` field is used.' }),
    identifier: z.string().trim().min(1).max(LIMITS.identifier).optional(),
    email: Email.optional().meta({ description: 'Legacy form of identifier_type=email + identifier.' }),
    redirect_uri: z.string().max(LIMITS.uri).meta({ description: "Must exactly match one of the client's allowed redirect URIs." }),
    state: z.string().max(LIMITS.state).optional(),
    email_expiration: z.number().int().min(1).max(60).optional().meta({ description: 'Minutes, default 15, max 60.' }),
    channel: z.enum(['email', 'direct']).optional(),
    email_content: EmailContent.optional(),
    client_attributes: ClientAttributes.optional(),
  })
  .refine((v) => v.identifier !== undefined || v.email !== undefined, { message: 'identifier (or the legacy email) is required' })
  .meta({ id: 'LinkSendRequest' });

export const LinkSendResponse = z
  .object({ message: z.string(), link: z.string().optional().meta({ description: 'Only with channel=direct.' }) })
  .meta({ id: 'LinkSendResponse' });

export const LinkAuthenticateRequest = z
  .object({
    code: z.string().min(1).max(256),
    session_id: SessionId.optional(),
    client_attributes: ClientAttributes.optional(),
    max_age: MaxAge.optional(),
    claims: ClaimsRequest.optional(),
  })
  .meta({ id: 'LinkAuthenticateRequest' });

export const RefreshRequest = z
  .object({
    refresh_token: z.string().min(1).max(512),
    client_attributes: ClientAttributes.optional().meta({ description: 'Required (with ip_address) for a session bound to an IP.' }),
  })
  .meta({ id: 'RefreshRequest' });

export const TotpRegisterRequest = z
  .object({
    label: z
      .string()
      .trim()
      .min(1)
      .max(LIMITS.username)
      .optional()
      .meta({ description: "Account name shown in the authenticator app. Default: the user's email, else username, else phone number, else user_id." }),
    allow_override: z
      .boolean()
      .optional()
      .meta({ description: 'Replace an authenticator that already works (one a code has been accepted from). Without it that is 409 `auth_totp_already_configured`. A pending one is always replaced.' }),
    device_id: z.string().max(80).optional().meta({ description: 'Accepted and ignored.' }),
  })
  .meta({ id: 'TotpRegisterRequest' });

export const TotpRegistrationResponse = z
  .object({
    secret: z.string().meta({ description: 'Base32 seed (160 bits), shown only here.' }),
    uri: z.string().meta({ description: '`otpauth://totp/<issuer>:<label>?secret=…&issuer=…` for a QR code.' }),
  })
  .meta({ id: 'TotpRegistration' });

export const TotpAuthenticateRequest = z
  .object({
    token: z.string().trim().min(1).max(16).meta({ description: 'The code the authenticator app shows (upstream field name).' }),
    identifier_type: IdentifierType.default('email').meta({ description: 'Default `email`, as upstream.' }),
    identifier: z.string().trim().min(1).max(LIMITS.identifier),
    session_id: SessionId.optional(),
    client_attributes: ClientAttributes.optional(),
    max_age: MaxAge.optional(),
    claims: ClaimsRequest.optional(),
  })
  .meta({ id: 'TotpAuthenticateRequest' });

// ---- recovery codes ------------------------------------------------------

export const RecoveryCodesResponse = z
  .object({
    codes: z
      .array(z.string().meta({ example: '7K3M-Q9TX-2D4H' }))
      .meta({ description: 'Ten single-use codes, shown only here: 12 characters of Crockford base32 (60 random bits) as XXXX-XXXX-XXXX.' }),
  })
  .meta({ id: 'RecoveryCodes' });

export const RecoveryCodeAuthenticateRequest = z
  .object({
    identifier_type: IdentifierType,
    identifier: z.string().trim().min(1).max(LIMITS.identifier),
    code: z
      .string()
      .min(1)
      .max(64)
      .meta({ description: 'One recovery code; case-insensitive, separators (spaces, dashes) ignored, O read as 0 and I, L as 1.' }),
    session_id: SessionId.optional(),
    client_attributes: ClientAttributes.optional(),
    max_age: MaxAge.optional(),
    claims: ClaimsRequest.optional(),
  })
  .meta({ id: 'RecoveryCodeAuthenticateRequest' });

export const RecoveryTokenResponse = TokenResponse.extend({
  recovery_codes_remaining: z.number().int().min(0).meta({ description: 'Unused codes left in the set after this one.', example: 9 }),
}).meta({ id: 'RecoveryTokenResponse' });

// ---- passkeys (WebAuthn) ---------------------------------------------------

const WebAuthnEncodedResult = z
  .string()
  .min(1)
  .max(12_000)
  .regex(/^[A-Za-z0-9_-]+=*$/, 'must be base64url')
  .meta({ description: 'base64url of the UTF-8 JSON of `PublicKeyCredential.toJSON()` as the browser returned it.' });

export const WebAuthnRegisterStartRequest = z
  .object({ display_name: z.string().trim().min(1).max(64).optional().meta({ description: 'The account name the authenticator shows; default the username, email or phone number.' }) })
  .meta({ id: 'WebAuthnRegisterStartRequest' });

const CredentialDescriptor = z.object({ type: z.literal('public-key'), id: z.string(), transports: z.array(z.string()) });

export const WebAuthnRegisterStartResponse = z
  .object({
    webauthn_session_id: z.string(),
    credential_creation_options: z
      .object({
        rp: z.object({ id: z.string(), name: z.string() }),
        user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
        challenge: z.string(),
        pubKeyCredParams: z.array(z.object({ type: z.literal('public-key'), alg: z.number() })),
        timeout: z.number(),
        excludeCredentials: z.array(CredentialDescriptor),
        authenticatorSelection: z.object({ residentKey: z.string(), requireResidentKey: z.boolean(), userVerification: z.enum(['required', 'preferred']) }),
        attestation: z.literal('none'),
        extensions: z.record(z.string(), z.unknown()),
      })
      .meta({ description: '`PublicKeyCredentialCreationOptionsJSON`: pass to `PublicKeyCredential.parseCreationOptionsFromJSON()`, then `navigator.credentials.create()`.' }),
  })
  .meta({ id: 'WebAuthnRegisterStartResponse' });

export const WebAuthnRegisterRequest = z.object({ webauthn_encoded_result: WebAuthnEncodedResult }).meta({ id: 'WebAuthnRegisterRequest' });

export const WebAuthnCredential = z
  .object({
    id: z.string().meta({ description: 'The credential ID (base64url).' }),
    name: z.string().meta({ description: 'The authenticator model when known, else `Passkey`.' }),
    display_name: z.string().optional(),
    status: z.literal('active'),
    first_seen: z.string().meta({ description: 'Registered at (ISO 8601).' }),
    last_seen: z.string().meta({ description: 'Last used at (ISO 8601); the registration time until first used.' }),
    passkey_type: z.enum(['synced', 'device_bound']),
    sync_status: z.enum(['synced', 'not_synced']).optional(),
    transports: z.array(z.string()),
    aaguid: z.string(),
  })
  .meta({ id: 'WebAuthnCredential' });

export const WebAuthnCredentialList = z.array(WebAuthnCredential).meta({ id: 'WebAuthnCredentialList' });

export const WebAuthnAuthenticateStartRequest = z
  .object({
    username: z.string().trim().min(1).max(LIMITS.identifier).optional().meta({ description: "The user's username, email or E.164 phone number, when already known (e.g. after a password): binds the challenge to that user; the answer is the same either way." }),
    timeout: z.number().int().min(30).max(600).optional().meta({ description: 'Seconds for the browser prompt (default 300); the challenge itself lives 5 minutes.' }),
  })
  .meta({ id: 'WebAuthnAuthenticateStartRequest' });

export const WebAuthnAuthenticateStartResponse = z
  .object({
    webauthn_session_id: z.string(),
    credential_request_options: z
      .object({
        challenge: z.string(),
        timeout: z.number(),
        rpId: z.string(),
        allowCredentials: z.array(CredentialDescriptor).meta({ description: 'Always empty: the browser offers its discoverable passkeys for the RP ID, so the answer reveals nothing about the username.' }),
        userVerification: z.enum(['required', 'preferred']),
      })
      .meta({ description: '`PublicKeyCredentialRequestOptionsJSON`: pass to `PublicKeyCredential.parseRequestOptionsFromJSON()`, then `navigator.credentials.get()`.' }),
  })
  .meta({ id: 'WebAuthnAuthenticateStartResponse' });

export const WebAuthnAuthenticateRequest = z
  .object({
    webauthn_encoded_result: WebAuthnEncodedResult,
    session_id: SessionId.optional(),
    client_attributes: ClientAttributes.optional(),
    max_age: MaxAge.optional(),
    claims: ClaimsRequest.optional(),
  })
  .meta({ id: 'WebAuthnAuthenticateRequest' });

export const WebAuthnCredentialParams = z.object({
  user_id: Id,
  credential_id: z.string().min(1).max(1400).regex(/^[A-Za-z0-9_-]+$/, 'must be base64url'),
});
