/**
 * Store port over one DynamoDB table (`pk` string hash key). Works the same
 * against DynamoDB, DynamoDB Local and the embedded dynalite: single-item
 * conditional writes only, no transactions, strongly consistent reads.
 *
 * Item shape: `{pk, v: version, d: value, ttl?: epoch seconds}`; counters are
 * `{pk, n, ttl?}`; guess counters are `{pk, r: run, n: count, l: latest
 * attempt (ms), ttl}`. The table's TTL attribute is `ttl`.
 */
import { CreateTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../errors.js';
import type { AttemptCounter, CountAttemptOptions, PutOptions, Store, StoredRecord } from '../../ports.js';
import { dependencyFailure } from './failures.js';

export const TTL_ATTRIBUTE = 'ttl';

export class DynamoDbStore implements Store {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get<T>(key: string): Promise<StoredRecord<T> | undefined> {
    const { Item } = await call(() =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true })),
    );
    if (!Item || Item.d === undefined) return undefined;
    return { value: Item.d as T, version: Number(Item.v) };
  }

  async put<T>(key: string, value: T, options: PutOptions): Promise<number> {
    const version = (options.expectVersion ?? 0) + 1;
    const item: Record<string, unknown> = { pk: key, v: version, d: value };
    if (options.expiresAt !== undefined) item[TTL_ATTRIBUTE] = options.expiresAt;
    await call(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(options.expectVersion === null
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': options.expectVersion } }),
        }),
      ),
    );
    return version;
  }

  async delete(key: string, options: { expectVersion?: number } = {}): Promise<void> {
    await call(() =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: key },
          ...(options.expectVersion !== undefined
            ? { ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': options.expectVersion } }
            : {}),
        }),
      ),
    );
  }

  async increment(key: string, by: number, options: { expiresAt?: number } = {}): Promise<number> {
    const ttl = options.expiresAt !== undefined;
    const { Attributes } = await call(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: ttl ? 'ADD n :by SET #ttl = :ttl' : 'ADD n :by',
          ExpressionAttributeValues: ttl ? { ':by': by, ':ttl': options.expiresAt } : { ':by': by },
          ...(ttl ? { ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE } } : {}),
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    return Number(Attributes?.n ?? 0);
  }

  async countAttempt(key: string, options: CountAttemptOptions): Promise<AttemptCounter | undefined> {
    const values: Record<string, unknown> = { ':one': 1, ':limit': options.limit, ':now': options.now, ':ttl': options.expiresAt };
    if (options.lastAfter !== undefined) values[':after'] = options.lastAfter;
    try {
      const { Attributes } = await call(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: key },
            // `n < :limit` is false for a missing counter, so this never creates one.
            UpdateExpression: 'ADD n :one SET l = :now, #ttl = :ttl',
            ConditionExpression: options.lastAfter === undefined ? 'n < :limit' : 'n < :limit AND l > :after',
            ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return toCounter(Attributes);
    } catch (error) {
      if (error instanceof ConflictError) return undefined;
      throw error;
    }
  }

  async getAttempts(key: string): Promise<AttemptCounter | undefined> {
    const { Item } = await call(() =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true })),
    );
    return toCounter(Item);
  }

  async restartAttempts(key: string, seen: AttemptCounter | undefined, next: AttemptCounter, expiresAt: number): Promise<boolean> {
    try {
      await call(() =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { pk: key, r: next.run, n: next.count, l: next.last_at, [TTL_ATTRIBUTE]: expiresAt },
            ...(seen === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: 'r = :r AND n = :n AND l = :l',
                  ExpressionAttributeValues: { ':r': seen.run, ':n': seen.count, ':l': seen.last_at },
                }),
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async uncountAttempt(key: string, run: string): Promise<void> {
    try {
      await call(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: key },
            UpdateExpression: 'ADD n :minus',
            ConditionExpression: 'r = :r AND n > :zero',
            ExpressionAttributeValues: { ':minus': -1, ':r': run, ':zero': 0 },
          }),
        ),
      );
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // restarted or emptied meanwhile: nothing of this run to take back
    }
  }

  /**
   * Every key that starts with `prefix`, by scanning the whole table: for
   * admin commands only (no function is allowed dynamodb:Scan), never a
   * request path.
   */
  async *keysWithPrefix(prefix: string): AsyncGenerator<string> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await call(() =>
        this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: 'begins_with(pk, :prefix)',
            ExpressionAttributeValues: { ':prefix': prefix },
            ProjectionExpression: 'pk',
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) yield String(item.pk);
      start = page.LastEvaluatedKey;
    } while (start);
  }
}

function toCounter(item: Record<string, unknown> | undefined): AttemptCounter | undefined {
  if (!item || typeof item.r !== 'string') return undefined;
  return { run: item.r, count: Number(item.n), last_at: Number(item.l) };
}

/** Client-fault error names that still mean "the dependency is unhealthy", not "the request is wrong". */
const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

/**
 * Translates storage failures into domain-level errors at the adapter edge:
 * a lost condition is a ConflictError; throttling, server faults and network
 * failures (refused, reset, timed out: errors with no `$fault`) are a
 * DependencyError (503). A client fault such as ValidationException is our
 * bug and stays a plain error (500, detail in the log).
 */
async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    const e = error as { name?: string; $fault?: string };
    if (e.name === 'ConditionalCheckFailedException') throw new ConflictError();
    if (e.$fault === 'client' && !(e.name && TRANSIENT.has(e.name))) throw error;
    throw dependencyFailure('dynamodb', error);
  }
}

/** Creates the table with the TTL attribute if it does not exist (local server, tests, admin command). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (let i = 0; i < 50; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
  } catch {
    // dynalite does not implement TTL; expiry is decided from stored timestamps anyway.
  }
}
