import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, CfnTable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * The actions DynamoDbStore uses: item reads, alone or batched (BatchGetItem,
 * whose every key must meet the LeadingKeys condition), and single-item
 * conditional writes; nothing else (no query, scan, batch write or transaction).
 */
export const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem'] as const;
export const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

/**
 * The one table behind the Store port: `pk` string key, on demand, TTL on
 * `ttl` (expiry is decided from stored timestamps; TTL only cleans up),
 * point-in-time recovery, and kept when the stack is deleted (not when the
 * deploy that created it rolls back).
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
      // Kept when the stack is deleted or the table replaced; deleted only when the deploy that created
      // it rolls back (a failed first deploy), when it cannot yet hold anything worth keeping.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    (this.table.node.defaultChild as CfnTable).overrideLogicalId(SessionsTable.LOGICAL_ID);
  }

  /** GetItem and BatchGetItem on the keys that start with one of `prefixes` (a `dynamodb:LeadingKeys` condition). */
  grantRead(grantee: IGrantable, prefixes: readonly string[]): Grant {
    return this.grantOnKeys(grantee, READ_ACTIONS, prefixes);
  }

  /** PutItem, UpdateItem and DeleteItem on the keys that start with one of `prefixes`. */
  grantWrite(grantee: IGrantable, prefixes: readonly string[]): Grant {
    return this.grantOnKeys(grantee, WRITE_ACTIONS, prefixes);
  }

  private grantOnKeys(grantee: IGrantable, actions: readonly string[], prefixes: readonly string[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...new Set(prefixes)].sort().map((prefix) => `${prefix}*`) } },
    });
  }
}
