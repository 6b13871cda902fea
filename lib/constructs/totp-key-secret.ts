import type { Construct } from 'constructs';
import { KEYRING_VERSION_1, KeySecret } from './key-secret.js';

/**
 * The keys that seal TOTP seeds, apart from the hash key: a JSON object of key
 * versions (`{"1": "<64 letters and digits>"}`). `npm run totp-keys` adds,
 * re-seals and retires versions; the functions use the versions of
 * TOTP_KEY_IDS.
 */
export class TotpKeySecret extends KeySecret {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      logicalId: 'TotpKeySecret',
      description: 'Twofold: versioned keys that seal TOTP seeds (npm run totp-keys)',
      // About 381 bits, well over the 256 an HMAC-SHA-256 or AES-256 key needs.
      generate: KEYRING_VERSION_1,
      rotationReason:
        'Not rotated by a Secrets Manager Lambda: a new version must be deployed to every function before it seals, and every seed re-sealed before the old version goes. `npm run totp-keys` does it in those phases (docs/deploy.md).',
    });
  }
}
