import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, CfnTable, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * The actions DynamoDbStore uses: item reads, alone or batched (BatchGetItem,
 * whose every key must meet the LeadingKeys condition), single-item
 * conditional writes, and a Query of the owner index (Store.keysOwnedBy);
 * nothing else (no scan, batch write or transaction).
 */
export const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem'] as const;
export const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;
/** The table's one index: records by owner (`o`), keys only; must match the adapter's OWNER_INDEX. */
export const OWNER_INDEX = 'owner';

/**
 * The one table behind the Store port: `pk` string key, on demand, TTL on
 * `ttl` (expiry is decided from stored timestamps; TTL only cleans up),
 * point-in-time recovery, and kept when the stack is deleted (not when the
 * deploy that created it rolls back). One index, keys only, on the owner `o`
 * that some records carry (a user's sessions at a client): DynamoDB adds it
 * to an existing table in place.
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
    this.table.addGlobalSecondaryIndex({ indexName: OWNER_INDEX, partitionKey: { name: 'o', type: AttributeType.STRING }, projectionType: ProjectionType.KEYS_ONLY });
    (this.table.node.defaultChild as CfnTable).overrideLogicalId(SessionsTable.LOGICAL_ID);
  }

  /** Query of the owner index, only for owners that start with one of `prefixes` (LeadingKeys is the index's key in a Query of it). */
  grantQueryOwners(grantee: IGrantable, prefixes: readonly string[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${OWNER_INDEX}`],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...new Set(prefixes)].sort().map((prefix) => `${prefix}*`) } },
    });
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
