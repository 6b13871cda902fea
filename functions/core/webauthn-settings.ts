/**
 * Validation of a client's passkey settings, apart from the ceremonies so the
 * admin command loads neither zod nor the WebAuthn library to run it.
 */

/**
 * Checks relying-party settings as WebAuthn requires them: the RP ID is a
 * host name, and every origin is exactly `scheme://host[:port]` whose host is
 * the RP ID or a subdomain of it, over https (http only for localhost).
 * Returns the problems found, empty when the settings are usable.
 */
export function webauthnSettingsProblems(rpId: string | undefined, origins: string[] | undefined): string[] {
  const problems: string[] = [];
  if (rpId === undefined) return origins?.length ? ['webauthn origins need a webauthn RP ID'] : [];
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(rpId)) {
    problems.push(`RP ID ${rpId} is not a lower-case host name (no scheme, port or path)`);
  }
  for (const origin of origins ?? []) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      problems.push(`origin ${origin} is not an absolute URL`);
      continue;
    }
    if (url.origin !== origin) problems.push(`origin ${origin} must be exactly scheme://host[:port], as ${url.origin}`);
    const local = url.hostname === 'localhost' || url.hostname.endsWith('.localhost');
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) problems.push(`origin ${origin} must use https (http only for localhost)`);
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) problems.push(`origin ${origin} is not on the RP ID ${rpId} or a subdomain of it`);
  }
  return problems;
}
