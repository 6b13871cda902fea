import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, CfnTable, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The actions DynamoDbStore uses: single-item reads and conditional writes, nothing else. */
export const STORE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

/**
 * The one table behind the Store port: `pk` string key, on demand, TTL on
 * `ttl` (expiry is decided from stored timestamps; TTL only cleans up),
 * point-in-time recovery, and kept when the stack is deleted.
 */
export class SessionsTable extends Construct {
  /** Never rename: a new logical id would create a new, empty table. */
  static readonly LOGICAL_ID = 'SessionsTable';
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (this.table.node.defaultChild as CfnTable).overrideLogicalId(SessionsTable.LOGICAL_ID);
  }

  /** Exactly the store's actions, on this table only (no index, no scan, no batch). */
  grantStore(grantee: IGrantable): void {
    this.table.grant(grantee, ...STORE_ACTIONS);
  }
}
