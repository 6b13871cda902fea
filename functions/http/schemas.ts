/**
 * THE request and response schemas. The same objects validate requests (see
 * functions/http/endpoint.ts) and generate the OpenAPI document
 * (functions/http/openapi.ts), so the two cannot drift.
 *
 * Objects strip unknown fields: optional fields of the upstream API that
 * Twofold does not support (`resource`, `claims`, `org_id`, `device_id`, ...)
 * are accepted and ignored.
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

export const IdentifierType = z.enum(['email', 'phone_number', 'user_id', 'username']);

export const UserName = z
  .union([
    z.string().max(LIMITS.name),
    z
      .object({
        title: z.string().max(LIMITS.name).optional(),
        first_name: z.string().max(LIMITS.name).optional(),
        last_name: z.string().max(LIMITS.name).optional(),
        middle_name: z.string().max(LIMITS.name).optional(),
      })
      .strict(),
  ])
  .meta({ description: 'A display name, or the upstream name object.' });

// ---- responses -----------------------------------------------------------

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
    email: z.object({ value: z.string(), email_verified: z.boolean(), verified_at: z.number().optional() }).optional(),
    phone_number: z
      .object({ value: z.string(), phone_number_verified: z.boolean(), verified_at: z.number().optional() })
      .optional(),
    username: z.string().optional(),
    name: UserName.optional(),
    status: z.enum(['Active', 'Disabled']),
    created_at: z.number().meta({ description: 'Epoch milliseconds.' }),
    updated_at: z.number(),
  })
  .meta({ id: 'User' });

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

export const Credentials = z.object({
  password: Password,
  force_replace: z.boolean().optional().meta({ description: 'Accepted for compatibility; a set password never forces a change.' }),
});

export const CreateUserRequest = z
  .object({
    email: Email.optional(),
    phone_number: PhoneNumber.optional(),
    username: Username.optional(),
    name: UserName.optional(),
    credentials: Credentials.optional(),
  })
  .refine((v) => v.email !== undefined || v.phone_number !== undefined, {
    message: 'at least one of email and phone_number is required',
  })
  .meta({ id: 'CreateUserRequest' });

export const UpdateUserRequest = z
  .object({
    email: Email.optional(),
    phone_number: PhoneNumber.optional(),
    username: Username.optional(),
    name: UserName.optional(),
  })
  .meta({ id: 'UpdateUserRequest' });

export const UserIdParams = z.object({ user_id: Id });
export const UsernameParams = z.object({ username: Username });
export const EmailParams = z.object({ email: Email });
export const PhoneNumberParams = z.object({ phone_number: PhoneNumber });

export const SetPasswordRequest = Credentials.meta({ id: 'SetPasswordRequest' });

export const PasswordAuthenticateRequest = z
  .object({
    username: z.string().trim().min(1).max(LIMITS.identifier),
    password: Password,
    username_type: z.enum(['username', 'email', 'phone_number']).optional().meta({ description: 'Default `username`.' }),
    session_id: SessionId.optional(),
    client_attributes: ClientAttributes.optional(),
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
  })
  .meta({ id: 'OtpAuthenticateRequest' });

export const SessionAuthenticateRequest = z
  .object({ session_id: SessionId, client_attributes: ClientAttributes.optional() })
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
  .object({ code: z.string().min(1).max(256), session_id: SessionId.optional(), client_attributes: ClientAttributes.optional() })
  .meta({ id: 'LinkAuthenticateRequest' });

export const RefreshRequest = z
  .object({
    refresh_token: z.string().min(1).max(512),
    client_attributes: ClientAttributes.optional().meta({ description: 'Required (with ip_address) for a session bound to an IP.' }),
  })
  .meta({ id: 'RefreshRequest' });

export const TotpRegistrationResponse = z
  .object({ secret: z.string(), uri: z.string().meta({ description: 'otpauth:// URI for the authenticator app' }) })
  .meta({ id: 'TotpRegistration' });

export const TotpAuthenticateRequest = z
  .object({
    identifier_type: IdentifierType,
    identifier: z.string().trim().min(1).max(LIMITS.identifier),
    passcode: z.string().trim().min(1).max(16),
    session_id: SessionId.optional(),
    client_attributes: ClientAttributes.optional(),
  })
  .meta({ id: 'TotpAuthenticateRequest' });
