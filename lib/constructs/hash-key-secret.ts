import type { Construct } from 'constructs';
import { KeySecret } from './key-secret.js';

/** The key of the keyed hashes (HMAC-SHA-256) of OTPs, link codes and recovery codes. */
export class HashKeySecret extends KeySecret {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      logicalId: 'HashKeySecret',
      description: 'Twofold: key for the keyed hashes of one-time passcodes and link codes',
      // 64 characters from 62 letters and digits: about 381 bits, well over the 256 HMAC-SHA-256 needs.
      generate: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      rotationReason:
        'Not rotated automatically: the key only checks short-lived OTPs and link codes (minutes), a rotation would void every code in flight, and warm functions keep the key they read at cold start. Rotate by hand if it leaks (docs/deploy.md).',
    });
  }
}
