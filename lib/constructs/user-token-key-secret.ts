import type { Construct } from 'constructs';
import { KEYRING_VERSION_1, KeySecret } from './key-secret.js';

/**
 * The keys of the user access tokens' MAC (HS256, functions/core/user-access-tokens.ts),
 * apart from the hash key and the TOTP keys: a JSON object of key versions
 * (`{"1": "<64 letters and digits>"}`). The functions mint with the first
 * version of USER_TOKEN_KEY_IDS and accept every listed one.
 */
export class UserTokenKeySecret extends KeySecret {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      logicalId: 'UserTokenKeySecret',
      description: 'Twofold: versioned keys of the user access tokens (HS256)',
      // About 381 bits, well over the 256 an HMAC-SHA-256 or AES-256 key needs.
      generate: KEYRING_VERSION_1,
      rotationReason:
        'Not rotated by a Secrets Manager Lambda: a new version must reach every function as accepted before any function mints with it, and the old one must stay accepted for a token lifetime (one hour). The userTokenKeyIds context does it in those phases (docs/deploy.md).',
    });
  }
}
