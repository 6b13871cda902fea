/**
 * Typed errors with stable, contract-defined codes. The error middleware maps
 * any TwofoldError to `{error_code, message}` with its status; anything else
 * becomes a generic 500 whose detail stays in the log.
 */
export abstract class TwofoldError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  /** Extra response headers (e.g. Retry-After). */
  headers: Record<string, string> = {};
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends TwofoldError {
  readonly code = 'system_invalid_input';
  readonly status = 400;
}

export class UnauthorizedError extends TwofoldError {
  readonly code = 'unauthorized';
  readonly status = 401;
  constructor(message = 'A valid client access token is required (Authorization: Bearer <token> from /oidc/token)') {
    super(message);
    this.headers = { 'WWW-Authenticate': 'Bearer' };
  }
}

/** OAuth-form error of the token endpoints: `{error, error_description}`. */
export class OAuthError extends TwofoldError {
  readonly code: string;
  readonly status: number;
  constructor(code: 'invalid_client' | 'invalid_request' | 'unsupported_grant_type', status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
    if (code === 'invalid_client') this.headers = { 'WWW-Authenticate': 'Basic realm="twofold"' };
  }
}

export class UserNotFoundError extends TwofoldError {
  readonly code = 'user_not_found';
  readonly status = 404;
  constructor(message = 'User not found') {
    super(message);
  }
}

export class UserAlreadyExistsError extends TwofoldError {
  readonly code = 'user_already_exists';
  readonly status = 409;
}

/** A new password below the policy's length (Transmit's code for a password that fails its requirements). */
export class WeakPasswordError extends TwofoldError {
  readonly code = 'auth_password_weak';
  readonly status = 400;
}

/** A new password on the shipped list of common (leaked) passwords. */
export class BreachedPasswordError extends TwofoldError {
  readonly code = 'auth_password_breached';
  readonly status = 400;
}

/**
 * 409 of the password routes, under the one code Transmit documents for both:
 * creating a password the user already has, or replacing one they do not have.
 */
export class PasswordConflictError extends TwofoldError {
  readonly code = 'auth_password_already_configured';
  readonly status = 409;
}

/** A working authenticator exists and the registration did not set `allow_override`. */
export class TotpAlreadyConfiguredError extends TwofoldError {
  readonly code = 'auth_totp_already_configured';
  readonly status = 409;
  constructor(message = 'The user already has a working authenticator; set allow_override to replace it') {
    super(message);
  }
}

export class InvalidCredentialsError extends TwofoldError {
  readonly code = 'auth_invalid_credentials';
  readonly status = 400;
  constructor(message = 'Invalid credentials') {
    super(message);
  }
}

export class OtpExpiredError extends TwofoldError {
  readonly code = 'auth_otp_passcode_expired';
  readonly status = 400;
  constructor(message = 'The passcode has expired; request a new one') {
    super(message);
  }
}

export class LockedError extends TwofoldError {
  readonly code = 'auth_locked';
  readonly status = 403;
  constructor(message: string, retryAfterSeconds?: number) {
    super(message);
    if (retryAfterSeconds !== undefined) this.headers = { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) };
  }
}

export class RateLimitedError extends TwofoldError {
  readonly code = 'rate_limited';
  readonly status = 429;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers = { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) };
  }
}

export class SessionNotFoundError extends TwofoldError {
  readonly code = 'session_not_found';
  readonly status = 400;
  constructor(message = 'Session not found, expired or ended') {
    super(message);
  }
}

export class SessionUserMismatchError extends TwofoldError {
  readonly code = 'session_user_mismatch';
  readonly status = 403;
  constructor(message = 'The authenticated user is not the session user') {
    super(message);
  }
}

export class SessionBindingMismatchError extends TwofoldError {
  readonly code = 'session_binding_mismatch';
  readonly status = 403;
  constructor(message = 'The session is bound to another IP address') {
    super(message);
  }
}

export class InvalidGrantError extends TwofoldError {
  readonly code = 'invalid_grant';
  readonly status = 400;
}

export class InvalidMagicLinkError extends TwofoldError {
  readonly code = 'invalid_magic_link_code';
  readonly status = 400;
  constructor(message = 'The magic link code is invalid, expired or already used') {
    super(message);
  }
}

export class ForbiddenError extends TwofoldError {
  readonly code = 'forbidden';
  readonly status = 403;
}

export class ServiceUnavailableError extends TwofoldError {
  readonly code = 'service_unavailable';
  readonly status = 503;
  constructor(message = 'A dependency is unavailable; retry later', retryAfterSeconds = 1) {
    super(message);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/**
 * Raised by a Store adapter when a conditional write loses (the record changed
 * or already exists). Storage-level; the core turns it into a domain outcome.
 */
export class ConflictError extends Error {
  constructor(message = 'conditional write lost') {
    super(message);
    this.name = 'ConflictError';
  }
}

/**
 * Raised by adapters when an outside dependency (DynamoDB, KMS, SES, SNS)
 * fails. Mapped to 503 with Retry-After.
 */
export class DependencyError extends Error {
  /**
   * The dependency refused this very request for good (an address SES
   * rejects, a number SNS cannot reach): retrying it cannot help. Otherwise
   * the failure may pass (throttling, an outage, a timeout).
   */
  readonly permanent: boolean;
  constructor(
    readonly dependency: string,
    options?: { cause?: unknown; permanent?: boolean },
  ) {
    super(`${dependency} failed`, options);
    this.name = 'DependencyError';
    this.permanent = options?.permanent ?? false;
  }
}

export class ContactMismatchError extends TwofoldError {
  readonly code = 'contact_mismatch';
  readonly status = 400;
}

export class InvalidRedirectUriError extends TwofoldError {
  readonly code = 'invalid_redirect_uri';
  readonly status = 400;
  constructor(message = "redirect_uri is not one of this client's allowed redirect URIs") {
    super(message);
  }
}

/**
 * A step that needs a session holding MFA, recently (adding a factor when the
 * user already holds one, generating recovery codes), was asked for by a
 * session without it (core/factor-enrolment.ts).
 */
export class MfaRequiredError extends TwofoldError {
  readonly code = 'auth_mfa_required';
  readonly status = 403;
  constructor(message = "This session does not hold MFA under the client's policy; add a second factor to the session first") {
    super(message);
  }
}

/** The user has no such factor to remove (TOTP revoke with another id, no recovery codes). */
export class AuthenticatorNotFoundError extends TwofoldError {
  readonly code = 'authenticator_not_found';
  readonly status = 404;
  constructor(message = 'The user has no such authenticator') {
    super(message);
  }
}

export class PasskeyNotFoundError extends TwofoldError {
  readonly code = 'webauthn_credential_not_found';
  readonly status = 404;
  constructor(message = 'The user has no passkey with this id') {
    super(message);
  }
}
