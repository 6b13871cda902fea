/**
 * The embedded DynamoDB-compatible server (dynalite, in memory) used by
 * `npm start` and the test setup, or any DYNAMODB_ENDPOINT instead. The code
 * under test talks to it over HTTP through the real AWS SDK.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { ensureTable } from '../aws/dynamodb-store.js';
import { awsClientOptions } from '../aws/sdk-options.js';

export interface EmbeddedDynamoDb {
  endpoint: string;
  client: DynamoDBClient;
  /** Stops the embedded server, if one was started. */
  stop(): Promise<void>;
}

export function dynamoClientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'local',
    // Local endpoints accept any credentials; real ones come from the environment.
    credentials: process.env.AWS_ACCESS_KEY_ID
      ? undefined
      : { accessKeyId: 'local', secretAccessKey: 'local' },
    // The same timeouts and retries as in Lambda: a paused store answers 503 here too.
    ...awsClientOptions(),
  });
}

/**
 * Starts dynalite on a loopback port (0: any free one), unless `endpoint` (DYNAMODB_ENDPOINT)
 * names another server, then makes sure `tableName` exists.
 */
export async function startEmbeddedDynamoDb(
  tableName: string,
  endpoint = process.env.DYNAMODB_ENDPOINT,
  port = 0,
): Promise<EmbeddedDynamoDb> {
  let stop = async () => {};
  if (!endpoint) {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const client = dynamoClientFor(endpoint);
  await ensureTable(client, tableName);
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      await stop();
    },
  };
}
