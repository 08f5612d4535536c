import type { HealerConfig } from '../config/config.js';
import { ConfigError } from '../config/config.js';
import { readSecret } from '../adapters/secrets.js';
import { DynamoStateStore } from '../adapters/dynamo-state-store.js';
import { SqsIncidentQueue } from '../adapters/sqs-queue.js';
import type { IncidentQueue, StateStore } from '../ports/index.js';

/** A value given directly in the environment wins; else it is read from SSM (SecureString). */
export async function secretFrom(direct: string | undefined, param: string | undefined, what: string): Promise<string> {
  if (direct) return direct;
  if (param) return readSecret(param);
  throw new ConfigError(`${what} is not configured`);
}

export function stateStore(config: HealerConfig): StateStore {
  return new DynamoStateStore({ tableName: config.stateTable });
}

export function incidentQueue(config: HealerConfig): IncidentQueue {
  if (!config.queueUrl) throw new ConfigError('HEALER_QUEUE_URL is not configured');
  return new SqsIncidentQueue({ queueUrl: config.queueUrl });
}
