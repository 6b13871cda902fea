/**
 * The one setting the public metadata routes need (the issuer), without the
 * dependency wiring: in Lambda it comes straight from ISSUER, validated as
 * functions/config.ts does; the local server and the tests install it with
 * their dependencies (runtime.ts installDeps). Kept apart from runtime.ts so
 * the discovery and OpenAPI bundles hold neither the AWS SDK nor zod.
 */
export interface PublicSettings {
  /** `iss` of every token, without a trailing slash. */
  issuer: string;
}

let installed: Promise<PublicSettings> | undefined;

export function installPublicSettings(settings: Promise<PublicSettings>): void {
  installed = settings;
}

export async function publicSettings(): Promise<PublicSettings> {
  if (installed) return installed;
  const raw = process.env.ISSUER?.trim() ?? '';
  if (!/^https?:\/\/[^\s/]/.test(raw)) throw new Error('ISSUER is missing or not an http(s) URL');
  return { issuer: raw.replace(/\/+$/, '') };
}
