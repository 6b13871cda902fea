/**
 * Starts one embedded DynamoDB (dynalite, in memory) for the whole run, unless
 * DYNAMODB_ENDPOINT names another (e.g. DynamoDB Local in Docker). Each test
 * file creates its own table on it, so files never see each other's data.
 */
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DYNAMODB_ENDPOINT) {
    project.provide('dynamoEndpoint', process.env.DYNAMODB_ENDPOINT);
    return async () => {};
  }
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  project.provide('dynamoEndpoint', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}
