/**
 * Store port over one DynamoDB table (`pk` string hash key). Works the same
 * against DynamoDB, DynamoDB Local and the embedded dynalite: single-item
 * conditional writes only, no transactions, strongly consistent reads.
 *
 * Item shape: `{pk, v: version, d: value, g?: guesses counted at its secret,
 * r?, n?, l?: a run of attempts kept on it, s?, sa?, sv?: a send log kept
 * on it (times, latest, version), ttl?: epoch seconds}`; counters are
 * `{pk, n, ttl?}`; guess counters are `{pk, r: run, n: count, l: latest
 * attempt (ms), ttl}`; a send log of its own is a record with only the log
 * (`{pk, s, sa, sv, ttl}`). Standalone send logs written before the logs were
 * unified (`{pk, v, s, l, ttl}`, older still `d.sent_at`) are read as a log
 * at version 0 and replaced by the next send. The table's TTL attribute is `ttl`.
 * A record put with an owner (PutOptions.owner) also holds `o`, the partition
 * key of the table's one index, OWNER_INDEX (keys only), which
 * Store.keysOwnedBy queries.
 */
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type DynamoDBClient,
  type ReturnValue,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../../errors.js';
import type { AttemptCounter, CountAttemptOptions, GuessRunOptions, PutOptions, RecordSendLog, SendLog, Store, StoredRecord, ValueConditions } from '../../ports.js';
import { dependencyFailure } from './failures.js';

export const TTL_ATTRIBUTE = 'ttl';

export class DynamoDbStore implements Store {
  constructor(
    /** The plain client (no DocumentClient: its command set would ride along in every bundle); tests and the bench add middleware to it. */
    readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  private async getItem(key: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await call(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })));
    return Item && unmarshall(Item);
  }

  private async update(input: {
    key: string;
    update: string;
    condition?: string;
    names?: Record<string, string>;
    values: Record<string, unknown>;
    returns?: ReturnValue;
  }): Promise<Record<string, unknown> | undefined> {
    const { Attributes } = await call(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(input.key),
          UpdateExpression: input.update,
          ...(input.condition !== undefined && { ConditionExpression: input.condition }),
          ...(input.names !== undefined && { ExpressionAttributeNames: input.names }),
          ExpressionAttributeValues: marshall(input.values, MARSHALL),
          ...(input.returns !== undefined && { ReturnValues: input.returns }),
        }),
      ),
    );
    return Attributes && unmarshall(Attributes);
  }

  async get<T>(key: string): Promise<StoredRecord<T> | undefined> {
    const item = await this.getItem(key);
    return toRecord<T>(item);
  }

  async getMany(keys: readonly string[]): Promise<Map<string, StoredRecord<unknown>>> {
    const found = new Map<string, StoredRecord<unknown>>();
    // DynamoDB refuses a batch that names one key twice, and one of more than 100 keys.
    const unique = [...new Set(keys)];
    if (unique.length > MAX_BATCH_KEYS) throw new Error(`getMany reads at most ${MAX_BATCH_KEYS} keys`);
    let pending: Record<string, AttributeValue>[] = unique.map(keyOf);
    for (let round = 1; pending.length > 0; round++) {
      // Keys left unprocessed (throttling, the 16 MB response limit) are asked again, a bounded number of times:
      // a partial answer would pass a record that exists for one that does not.
      if (round > MAX_BATCH_ROUNDS) throw dependencyFailure('dynamodb', Object.assign(new Error('BatchGetItem left keys unprocessed'), { name: 'UnprocessedKeys' }));
      if (round > 1) await new Promise((resolve) => setTimeout(resolve, BATCH_BACKOFF_MS * 2 ** (round - 2)));
      const { Responses, UnprocessedKeys } = await call(() =>
        this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } })),
      );
      for (const item of Responses?.[this.tableName] ?? []) {
        const plain = unmarshall(item);
        const record = toRecord<unknown>(plain);
        if (record) found.set(String(plain.pk), record);
      }
      pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return found;
  }

  async put<T>(key: string, value: T, options: PutOptions): Promise<number> {
    const version = (options.expectVersion ?? 0) + 1;
    const ttl = options.expiresAt !== undefined;
    const back = options.giveBack;
    const set = `SET d = :d, v = :next${ttl ? ', #ttl = :ttl' : ''}${options.owner !== undefined ? ', o = :owner' : ''}`;
    const remove = [...(ttl ? [] : ['#ttl']), ...(back?.only || options.endRun ? ['r', 'n', 'l'] : [])];
    const conditions = [options.expectVersion === null ? 'attribute_not_exists(pk)' : 'v = :v'];
    if (back) conditions.push(back.only ? 'r = :run AND n = :one' : 'r = :run AND n > :zero');
    // An update, not a PutItem: the guesses and the run counted on the record (`g`, `r`, `n`, `l`) stay as they are.
    await this.update({
      key,
      update: `${set}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}${back && !back.only ? ' ADD n :minus' : ''}`,
      condition: conditions.join(' AND '),
      names: { '#ttl': TTL_ATTRIBUTE },
      values: {
        ':d': value,
        ':next': version,
        ...(ttl && { ':ttl': options.expiresAt }),
        ...(options.owner !== undefined && { ':owner': options.owner }),
        ...(options.expectVersion !== null && { ':v': options.expectVersion }),
        ...(back && { ':run': back.run, ...(back.only ? { ':one': 1 } : { ':zero': 0, ':minus': -1 }) }),
      },
    });
    return version;
  }

  async overwrite<T>(key: string, value: T, options: { expiresAt?: number; log?: RecordSendLog } = {}): Promise<number> {
    const ttl = options.expiresAt !== undefined;
    const log = options.log && recordLog(options.log);
    const written = await this.update({
      key,
      // One write that still moves the version on, so a put conditioned on the old version loses.
      // A new secret: the guesses counted at the old one go with it.
      update: `SET ${['d = :d', ...(ttl ? ['#ttl = :ttl'] : []), ...(log?.set ?? [])].join(', ')} REMOVE g ADD v :one${log ? ', sv :one' : ''}`,
      ...(log && { condition: log.condition }),
      ...(ttl && { names: { '#ttl': TTL_ATTRIBUTE } }),
      values: { ':d': value, ':one': 1, ...(ttl && { ':ttl': options.expiresAt }), ...log?.values },
      returns: 'UPDATED_NEW',
    });
    return Number(written?.v);
  }

  async logSendOnRecord(key: string, options: RecordSendLog, expiresAt: number): Promise<void> {
    const log = recordLog(options);
    await this.update({
      key,
      // The TTL moves with the log (the caller's is never earlier than the record's own): a log kept on an
      // older record must not be deleted with it before its window has passed.
      update: `SET ${[...log.set, '#ttl = :ttl'].join(', ')} ADD sv :one`,
      condition: log.condition,
      names: { '#ttl': TTL_ATTRIBUTE },
      values: { ...log.values, ':one': 1, ':ttl': expiresAt },
    });
  }

  async getRecordSendLog(key: string): Promise<SendLog> {
    const item = await this.getItem(key);
    // A standalone log written before the logs were unified: its times in `s` (or, older still, `d.sent_at`)
    // and no log version; read as version 0, the next write replaces it on `attribute_not_exists(sv)`.
    const legacy = (item?.d as { sent_at?: unknown } | undefined)?.sent_at;
    const times = (item?.s ?? (Array.isArray(legacy) ? legacy : [])) as number[];
    return { times: times.map(Number), version: Number(item?.sv ?? 0) };
  }

  async countGuess<T>(key: string, options: { limit?: number; where?: ValueConditions; run?: GuessRunOptions }): Promise<StoredRecord<T> | undefined> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':one': 1 };
    const guess = options.limit !== undefined;
    if (guess) values[':limit'] = options.limit;
    const path = (field: string) =>
      ['d', ...field.split('.')]
        .map((part) => {
          const name = `#${part.replace(/[^A-Za-z0-9_]/g, '_')}`;
          names[name] = part;
          return name;
        })
        .join('.');
    const conditions = ['attribute_exists(pk)', ...(guess ? ['(attribute_not_exists(g) OR g < :limit)'] : [])];
    const where = options.where ?? {};
    let n = 0;
    for (const [field, value] of Object.entries(where.equal ?? {})) {
      values[`:w${++n}`] = value;
      conditions.push(`${path(field)} = :w${n}`);
    }
    for (const field of where.absent ?? []) conditions.push(`attribute_not_exists(${path(field)})`);
    for (const [field, value] of Object.entries(where.above ?? {})) {
      values[`:w${++n}`] = value;
      conditions.push(`${path(field)} > :w${n}`);
    }
    const addGuess = guess ? 'ADD g :one' : '';
    let update = addGuess;
    const run = options.run;
    if (run) {
      values[':run'] = run.startRun;
      values[':now'] = run.now;
      if (run.restart) {
        const seen = run.restart.seen;
        update = `${addGuess} SET r = :run, n = :one, l = :now`;
        if (seen === undefined) conditions.push('attribute_not_exists(r)');
        else {
          Object.assign(values, { ':seenR': seen.run, ':seenN': seen.count, ':seenL': seen.last_at });
          conditions.push('r = :seenR AND n = :seenN AND l = :seenL');
        }
      } else {
        update = `${guess ? 'ADD g :one, n :one' : 'ADD n :one'} SET l = :now, r = if_not_exists(r, :run)`;
        values[':runLimit'] = run.limit;
        if (run.lastAfter !== undefined) values[':after'] = run.lastAfter;
        conditions.push(`(attribute_not_exists(r) OR (n < :runLimit${run.lastAfter !== undefined ? ' AND l > :after' : ''}))`);
      }
    }
    try {
      const written = await this.update({
        key,
        update: update.trim(),
        condition: conditions.join(' AND '),
        ...(Object.keys(names).length > 0 && { names }),
        values,
        returns: 'ALL_NEW',
      });
      return toRecord<T>(written);
    } catch (error) {
      if (error instanceof ConflictError) return undefined;
      throw error;
    }
  }

  async uncountGuess(key: string, version: number): Promise<void> {
    try {
      await this.update({ key, update: 'ADD g :minus', condition: 'v = :v AND g > :zero', values: { ':minus': -1, ':v': version, ':zero': 0 } });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // replaced or emptied meanwhile: nothing of this secret to take back
    }
  }

  async delete(key: string, options: { expectVersion?: number } = {}): Promise<void> {
    await call(() =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          ...(options.expectVersion !== undefined && {
            ConditionExpression: 'v = :v',
            ExpressionAttributeValues: marshall({ ':v': options.expectVersion }),
          }),
        }),
      ),
    );
  }

  async increment(key: string, by: number, options: { expiresAt?: number; below?: number; above?: number } = {}): Promise<number> {
    const ttl = options.expiresAt !== undefined;
    const below = options.below !== undefined;
    const above = options.above !== undefined;
    // A missing counter is 0: below anything positive, above nothing that is not negative.
    const conditions = [
      ...(below ? ['(attribute_not_exists(n) OR n < :below)'] : []),
      ...(above ? [options.above! < 0 ? '(attribute_not_exists(n) OR n > :above)' : 'n > :above'] : []),
    ];
    const written = await this.update({
      key,
      update: ttl ? 'ADD n :by SET #ttl = :ttl' : 'ADD n :by',
      ...(conditions.length && { condition: conditions.join(' AND ') }),
      values: { ':by': by, ...(ttl && { ':ttl': options.expiresAt }), ...(below && { ':below': options.below }), ...(above && { ':above': options.above }) },
      ...(ttl && { names: { '#ttl': TTL_ATTRIBUTE } }),
      returns: 'UPDATED_NEW',
    });
    return Number(written?.n ?? 0);
  }

  async countAttempt(key: string, options: CountAttemptOptions): Promise<AttemptCounter | undefined> {
    const values: Record<string, unknown> = { ':one': 1, ':limit': options.limit, ':now': options.now, ':ttl': options.expiresAt };
    if (options.lastAfter !== undefined) values[':after'] = options.lastAfter;
    if (options.startRun !== undefined) values[':run'] = options.startRun;
    // `n < :limit` is false for a missing counter: only `startRun` lets this create one.
    const live = options.lastAfter === undefined ? 'n < :limit' : '(n < :limit AND l > :after)';
    try {
      const written = await this.update({
        key,
        update: options.startRun === undefined ? 'ADD n :one SET l = :now, #ttl = :ttl' : 'ADD n :one SET l = :now, #ttl = :ttl, r = if_not_exists(r, :run)',
        condition: options.startRun === undefined ? live : `attribute_not_exists(pk) OR ${live}`,
        names: { '#ttl': TTL_ATTRIBUTE },
        values,
        returns: 'ALL_NEW',
      });
      return toCounter(written);
    } catch (error) {
      if (error instanceof ConflictError) return undefined;
      throw error;
    }
  }

  async getAttempts(key: string): Promise<AttemptCounter | undefined> {
    return toCounter(await this.getItem(key));
  }

  async restartAttempts(key: string, seen: AttemptCounter | undefined, next: AttemptCounter, expiresAt: number): Promise<boolean> {
    // An UpdateItem, as the restart of a run kept on a record (countGuess) is: a restart at an unknown
    // identifier's counter makes the same kind of request as one on a known user's record.
    try {
      await this.update({
        key,
        update: 'SET r = :run, n = :count, l = :last, #ttl = :ttl',
        condition: seen === undefined ? 'attribute_not_exists(pk)' : 'r = :r AND n = :n AND l = :l',
        names: { '#ttl': TTL_ATTRIBUTE },
        values: {
          ':run': next.run,
          ':count': next.count,
          ':last': next.last_at,
          ':ttl': expiresAt,
          ...(seen !== undefined && { ':r': seen.run, ':n': seen.count, ':l': seen.last_at }),
        },
      });
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async uncountAttempt(key: string, run: string, options: { all?: boolean } = {}): Promise<void> {
    try {
      if (options.all) await this.update({ key, update: 'REMOVE r, n, l', condition: 'r = :r', values: { ':r': run } });
      else await this.update({ key, update: 'ADD n :minus', condition: 'r = :r AND n > :zero', values: { ':minus': -1, ':r': run, ':zero': 0 } });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error; // restarted or emptied meanwhile: nothing of this run to take back
    }
  }

  async keysOwnedBy(owner: string, limit: number): Promise<string[]> {
    const found: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await call(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: OWNER_INDEX,
            KeyConditionExpression: 'o = :owner',
            ExpressionAttributeValues: { ':owner': { S: owner } },
            Limit: limit - found.length,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) found.push(String(item.pk?.S));
      start = page.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found;
  }

  /**
   * Every key that starts with `prefix`, by scanning the whole table: for
   * admin commands only (no function is allowed dynamodb:Scan), never a
   * request path.
   */
  async *keysWithPrefix(prefix: string): AsyncGenerator<string> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await call(() =>
        this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: 'begins_with(pk, :prefix)',
            ExpressionAttributeValues: { ':prefix': { S: prefix } },
            ProjectionExpression: 'pk',
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) yield String(item.pk?.S);
      start = page.LastEvaluatedKey;
    } while (start);
  }
}

const MARSHALL = { removeUndefinedValues: true } as const;
/** The table's one index: records by owner (`o`), keys only (Store.keysOwnedBy); lib/constructs/sessions-table.ts creates it in AWS. */
export const OWNER_INDEX = 'owner';
/** BatchGetItem's limit on the keys of one request. */
const MAX_BATCH_KEYS = 100;
/** Requests one getMany makes at most while DynamoDB leaves keys unprocessed, waiting twice as long before each. */
const MAX_BATCH_ROUNDS = 4;
const BATCH_BACKOFF_MS = 20;

function keyOf(key: string): Record<string, AttributeValue> {
  return { pk: { S: key } };
}

/** The clauses that write a send log kept on a record: `s` its times, `sa` the latest, `sv` its version (`l` is the run's). */
function recordLog(log: RecordSendLog): { set: string[]; condition: string; values: Record<string, unknown> } {
  if ('times' in log) {
    return {
      set: ['s = :times', 'sa = :at'],
      condition: log.seen === 0 ? 'attribute_not_exists(sv)' : 'sv = :sv',
      values: { ':times': [...log.times, log.now], ':at': log.now, ...(log.seen !== 0 && { ':sv': log.seen }) },
    };
  }
  return {
    set: ['s = list_append(if_not_exists(s, :none), :now)', 'sa = :at'],
    // No log yet: neither a log of this layout (`sa`) nor one of the standalone layout written before the logs
    // were unified (`s`, or `d.sent_at`), whose cooldown must hold too: those are read and replaced instead.
    condition: '(attribute_not_exists(sa) AND attribute_not_exists(s) AND attribute_not_exists(d.sent_at)) OR (sa <= :since AND size(s) < :max)',
    values: { ':none': [], ':now': [log.now], ':at': log.now, ':since': log.lastAtOrBefore, ':max': log.maxEntries },
  };
}

function toRecord<T>(item: Record<string, unknown> | undefined): StoredRecord<T> | undefined {
  if (!item || item.d === undefined) return undefined;
  const attempts = toCounter(item);
  return {
    value: item.d as T,
    version: Number(item.v),
    ...(item.g !== undefined && Number(item.g) > 0 && { guesses: Number(item.g) }),
    ...(attempts && { attempts }),
  };
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
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'o', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [{ IndexName: OWNER_INDEX, KeySchema: [{ AttributeName: 'o', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
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
