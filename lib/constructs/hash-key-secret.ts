import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { CfnSecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The key of the keyed hashes (HMAC-SHA-256) of OTPs and link codes, generated
 * by Secrets Manager at deploy time so no one ever sees or types it. The
 * functions read it once per cold start.
 */
export class HashKeySecret extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description: 'Twofold: key for the keyed hashes of one-time passcodes and link codes',
      // 64 characters from 62 letters and digits: about 381 bits, well over the 256 HMAC-SHA-256 needs.
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      // Kept with the retained table: hashes stored there are only checkable with this key.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (this.secret.node.defaultChild as CfnSecret).overrideLogicalId('HashKeySecret');
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Not rotated automatically: the key only checks short-lived OTPs and link codes (minutes), a rotation would void every code in flight, and warm functions keep the key they read at cold start. Rotate by hand if it leaks (docs/deploy.md).',
    });
  }

  grantRead(grantee: IGrantable): void {
    this.secret.grantRead(grantee);
  }
}
