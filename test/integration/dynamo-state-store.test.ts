/**
 * DynamoStateStore against a real DynamoDB Local: every promise of the StateStore port holds under
 * concurrency and at the edges of its time windows (time is injected as nowMs).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import {
  DescribeTimeToLiveCommand,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient, dynamoDbClient, LAMBDA_CLIENT_DEFAULTS, resetAwsClients } from '../../lib/adapters/aws-clients.js';
import { DynamoStateStore } from '../../lib/adapters/dynamo-state-store.js';
import { stateKeys } from '../../lib/adapters/tables.js';
import { createTables, dynamoDbLocalUnavailable, localAws, startDynamoDbLocal, ttlSafeNow, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { mustRun } from '../support/process.js';

const unavailable = dynamoDbLocalUnavailable();
const T0 = ttlSafeNow();

describe.skipIf(unavailable !== undefined && !mustRun())('DynamoStateStore on DynamoDB Local', () => {
  let dynamo: DynamoDbLocal;
  let client: DynamoDBClient;
  const tables = { state: `state-${randomUUID()}`, audit: `audit-${randomUUID()}` };
  const newStore = () => new DynamoStateStore({ tableName: tables.state, client });
  const rawItem = async (pk: string) => {
    const { Item } = await client.send(new GetItemCommand({ TableName: tables.state, Key: marshall({ pk }), ConsistentRead: true }));
    return Item === undefined ? undefined : unmarshall(Item);
  };

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    console.info(`DynamoDB Local ready in ${dynamo.startMs} ms at ${dynamo.endpoint}`);
    client = dynamo.client();
    await createTables(client, tables);
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  describe('recordIfNew', () => {
    it('lets exactly one of 50 concurrent callers record the same incident', async () => {
      // Prepare: 50 store instances, as if 50 webhook invocations got the same alert at once.
      const id = `inc-${randomUUID()}`;
      const stores = Array.from({ length: 50 }, newStore);

      // Act
      const results = await Promise.all(stores.map((store) => store.recordIfNew(id, 600, T0)));

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('treats a mark as absent once its window has passed, even before TTL deletes it', async () => {
      // Prepare
      const store = newStore();
      const id = `inc-${randomUUID()}`;
      expect(await store.recordIfNew(id, 60, T0)).toBe(true);

      // Act
      const justBefore = await store.recordIfNew(id, 60, T0 + 60_000 - 1);
      const itemAtExpiry = await rawItem(stateKeys.dedup(id));
      const atExpiry = await store.recordIfNew(id, 60, T0 + 60_000);
      const rightAfterRenewal = await store.recordIfNew(id, 60, T0 + 60_001);

      // Assess: the old item was still there (TTL had not run), yet the condition let the write in.
      expect(justBefore).toBe(false);
      expect(itemAtExpiry).toMatchObject({ untilMs: T0 + 60_000, expiresAt: Math.ceil((T0 + 60_000) / 1000) });
      expect(atExpiry).toBe(true);
      expect(rightAfterRenewal).toBe(false);
    });

    it('forgets a mark so a retry after a failed enqueue is not a duplicate', async () => {
      // Prepare
      const store = newStore();
      const id = `inc-${randomUUID()}`;
      expect(await store.recordIfNew(id, 600, T0)).toBe(true);

      // Act
      await store.forgetIncident(id);
      const again = await store.recordIfNew(id, 600, T0 + 1);

      // Assess
      expect(again).toBe(true);
    });

    it("does not forget a newer caller's mark when its own has been replaced", async () => {
      // Prepare: A's mark expires and B records the incident anew.
      const [a, b] = [newStore(), newStore()];
      const id = `inc-${randomUUID()}`;
      expect(await a.recordIfNew(id, 10, T0)).toBe(true);
      expect(await b.recordIfNew(id, 600, T0 + 10_000)).toBe(true);

      // Act
      await a.forgetIncident(id);

      // Assess: B's mark still deduplicates.
      expect(await newStore().recordIfNew(id, 600, T0 + 11_000)).toBe(false);
    });
  });

  describe('claimIncident / completeIncident / releaseIncident', () => {
    it('gives the lock to exactly one of 50 concurrent workers', async () => {
      // Prepare
      const id = `inc-${randomUUID()}`;
      const stores = Array.from({ length: 50 }, newStore);

      // Act
      const results = await Promise.all(stores.map((store) => store.claimIncident(id, 300, T0)));

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('lets another worker take over once the lease has expired', async () => {
      // Prepare
      const id = `inc-${randomUUID()}`;
      expect(await newStore().claimIncident(id, 60, T0)).toBe(true);

      // Act
      const whileHeld = await newStore().claimIncident(id, 60, T0 + 59_999);
      const afterLease = await newStore().claimIncident(id, 60, T0 + 60_000);

      // Assess
      expect(whileHeld).toBe(false);
      expect(afterLease).toBe(true);
    });

    it('blocks re-claiming a done incident until the keep window ends', async () => {
      // Prepare: claim with a short lease, complete with a long keep window.
      const store = newStore();
      const id = `inc-${randomUUID()}`;
      expect(await store.claimIncident(id, 60, T0)).toBe(true);

      // Act
      await store.completeIncident(id, 3600, T0 + 1_000);
      const afterLease = await newStore().claimIncident(id, 60, T0 + 120_000);
      const afterKeep = await newStore().claimIncident(id, 60, T0 + 1_000 + 3_600_000);

      // Assess
      expect(afterLease).toBe(false);
      expect(afterKeep).toBe(true);
    });

    it('releases the lock so a retry may take it at once', async () => {
      // Prepare
      const store = newStore();
      const id = `inc-${randomUUID()}`;
      expect(await store.claimIncident(id, 300, T0)).toBe(true);

      // Act
      await store.releaseIncident(id);
      const retry = await newStore().claimIncident(id, 300, T0 + 1);

      // Assess
      expect(retry).toBe(true);
    });

    it('never erases a done marker on release', async () => {
      // Prepare
      const store = newStore();
      const id = `inc-${randomUUID()}`;
      expect(await store.claimIncident(id, 300, T0)).toBe(true);
      await store.completeIncident(id, 3600, T0 + 1);

      // Act: a late release from this worker and one from a worker that never held the lock.
      await store.releaseIncident(id);
      await newStore().releaseIncident(id);

      // Assess
      expect(await rawItem(stateKeys.incident(id))).toMatchObject({ state: 'done' });
      expect(await newStore().claimIncident(id, 300, T0 + 2)).toBe(false);
    });

    it("does not release another worker's lock after a takeover", async () => {
      // Prepare: A's lease runs out mid-run and B takes the incident over.
      const [a, b] = [newStore(), newStore()];
      const id = `inc-${randomUUID()}`;
      expect(await a.claimIncident(id, 10, T0)).toBe(true);
      expect(await b.claimIncident(id, 300, T0 + 10_000)).toBe(true);

      // Act: A fails late and releases "its" lock.
      await a.releaseIncident(id);

      // Assess: B still holds it.
      expect(await newStore().claimIncident(id, 300, T0 + 11_000)).toBe(false);
    });
  });

  describe('cooldowns', () => {
    it('starts a cooldown for exactly one of 50 concurrent actors', async () => {
      // Prepare
      const key = `evict-pod/ns/deploy-${randomUUID()}`;
      const stores = Array.from({ length: 50 }, newStore);

      // Act
      const results = await Promise.all(stores.map((store) => store.startCooldown(key, 1800, T0)));

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await newStore().cooldownUntil(key, T0 + 1)).toBe(T0 + 1_800_000);
    });

    it('reports no cooldown for an unknown key or an expired one, and restarts after expiry', async () => {
      // Prepare
      const store = newStore();
      const key = `evict-pod/ns/deploy-${randomUUID()}`;

      // Act
      const before = await store.cooldownUntil(key, T0);
      const started = await store.startCooldown(key, 30, T0);
      const during = await store.cooldownUntil(key, T0 + 29_999);
      const secondWhileActive = await store.startCooldown(key, 30, T0 + 29_999);
      const atEnd = await store.cooldownUntil(key, T0 + 30_000);
      const restarted = await store.startCooldown(key, 30, T0 + 30_000);

      // Assess
      expect(before).toBeUndefined();
      expect(started).toBe(true);
      expect(during).toBe(T0 + 30_000);
      expect(secondWhileActive).toBe(false);
      expect(atEnd).toBeUndefined();
      expect(restarted).toBe(true);
    });
  });

  describe('claimOwner', () => {
    it('gives a workload to exactly one of 50 concurrent incidents and names it to the others', async () => {
      // Prepare
      const ownerKey = `local/shop/Deployment/web-${randomUUID()}/CrashLoopBackOff`;
      const incidents = Array.from({ length: 50 }, (_, i) => `incident-${i}`);

      // Act
      const results = await Promise.all(incidents.map((id) => newStore().claimOwner(ownerKey, id, 300, T0)));

      // Assess
      const winners = results.filter((r) => r.claimed);
      expect(winners).toHaveLength(1);
      const holder = winners[0]?.holder;
      expect(results.filter((r) => !r.claimed).every((r) => r.holder === holder)).toBe(true);
    });

    it('lets the holder claim again (a redelivery) and anyone claim after the window', async () => {
      // Prepare
      const store = newStore();
      const ownerKey = `local/shop/Deployment/api-${randomUUID()}/CrashLoopBackOff`;

      // Act
      const first = await store.claimOwner(ownerKey, 'a', 60, T0);
      const again = await store.claimOwner(ownerKey, 'a', 60, T0 + 1_000);
      const other = await store.claimOwner(ownerKey, 'b', 60, T0 + 2_000);
      const later = await store.claimOwner(ownerKey, 'b', 60, T0 + 61_001);

      // Assess
      expect(first).toEqual({ claimed: true, holder: 'a' });
      expect(again).toEqual({ claimed: true, holder: 'a' });
      expect(other).toEqual({ claimed: false, holder: 'a' });
      expect(later).toEqual({ claimed: true, holder: 'b' });
    });
  });

  describe('action counters', () => {
    const HOUR = 3600;
    const scope = (kind: string) => `${kind}#${randomUUID()}`;

    it('lets exactly 3 of 50 concurrent actions through a namespace limit of 3', async () => {
      // Prepare: 50 workers, each with its own store, acting in one namespace at once.
      const ns = scope('namespace');
      const stores = Array.from({ length: 50 }, newStore);

      // Act
      const results = await Promise.all(stores.map((store) => store.recordAction([ns], { [ns]: 3 }, HOUR, T0 + 1_000)));

      // Assess
      expect(results.filter(Boolean)).toHaveLength(3);
      expect(await newStore().countActions([ns], HOUR, T0 + 2_000)).toEqual({ [ns]: 3 });
    });

    it('counts an action under all of its scopes or none, under concurrency', async () => {
      // Prepare: two namespaces (limit 3 each) share a cluster limit of 5; 20 racers in each.
      const [a, b, cluster] = [scope('namespace'), scope('namespace'), scope('cluster')];
      const limits = { [a]: 3, [b]: 3, [cluster]: 5 };
      const racers = [...Array.from({ length: 20 }, () => a), ...Array.from({ length: 20 }, () => b)];

      // Act
      const results = await Promise.all(racers.map((ns) => newStore().recordAction([ns, cluster], limits, HOUR, T0)));
      const counts = await newStore().countActions([a, b, cluster], HOUR, T0);

      // Assess: the cluster limit binds, no namespace passes its own, and no count is partial.
      expect(results.filter(Boolean)).toHaveLength(5);
      expect(counts[cluster]).toBe(5);
      expect(counts[a]).toBeLessThanOrEqual(3);
      expect(counts[b]).toBeLessThanOrEqual(3);
      expect((counts[a] ?? 0) + (counts[b] ?? 0)).toBe(5);
    });

    it('counts nothing when one scope is at its limit', async () => {
      // Prepare: the namespace is full, the cluster has room.
      const [ns, cluster] = [scope('namespace'), scope('cluster')];
      const store = newStore();
      expect(await store.recordAction([ns], { [ns]: 1 }, HOUR, T0)).toBe(true);

      // Act
      const refused = await store.recordAction([ns, cluster], { [ns]: 1, [cluster]: 10 }, HOUR, T0 + 1);

      // Assess
      expect(refused).toBe(false);
      expect(await store.countActions([ns, cluster], HOUR, T0 + 2)).toEqual({ [ns]: 1, [cluster]: 0 });
    });

    it('starts a fresh count when the fixed window rolls over', async () => {
      // Prepare: T0 is on an hour boundary; fill the window that ends at T0 + 1 h.
      const ns = scope('namespace');
      const store = newStore();
      expect(await store.recordAction([ns], { [ns]: 2 }, HOUR, T0)).toBe(true);
      expect(await store.recordAction([ns], { [ns]: 2 }, HOUR, T0 + 1_800_000)).toBe(true);

      // Act
      const lastMs = await store.recordAction([ns], { [ns]: 2 }, HOUR, T0 + 3_600_000 - 1);
      const countAtEnd = await store.countActions([ns], HOUR, T0 + 3_600_000 - 1);
      const countInNext = await store.countActions([ns], HOUR, T0 + 3_600_000);
      const nextWindow = await store.recordAction([ns], { [ns]: 2 }, HOUR, T0 + 3_600_000);

      // Assess
      expect(lastMs).toBe(false);
      expect(countAtEnd).toEqual({ [ns]: 2 });
      expect(countInNext).toEqual({ [ns]: 0 });
      expect(nextWindow).toBe(true);
      expect(await store.countActions([ns], HOUR, T0 + 3_600_001)).toEqual({ [ns]: 1 });
    });

    it('keeps windows of different lengths apart, so the breaker and the rate limit never share a count', async () => {
      // Prepare
      const key = scope('workload');
      const store = newStore();

      // Act
      await store.recordAction([key], { [key]: 5 }, HOUR, T0);
      const counts = [await store.countActions([key], HOUR, T0), await store.countActions([key], 86_400, T0)];

      // Assess
      expect(counts).toEqual([{ [key]: 1 }, { [key]: 0 }]);
    });

    it('sets the TTL attribute to the end of the window', async () => {
      // Prepare
      const ns = scope('namespace');
      const windowStart = T0 + 7_200_000;

      // Act
      await newStore().recordAction([ns], { [ns]: 3 }, HOUR, windowStart + 123_456);

      // Assess: epoch seconds for TTL, epoch ms for conditions; both are the window's end.
      const item = await rawItem(stateKeys.counter(ns, HOUR, windowStart));
      expect(item).toEqual({
        pk: stateKeys.counter(ns, HOUR, windowStart),
        count: 1,
        scope: ns,
        untilMs: windowStart + 3_600_000,
        expiresAt: (windowStart + 3_600_000) / 1000,
      });
    });

    it('retries a transaction another one conflicted with, and fails closed when conflicts persist', async () => {
      // Prepare: DynamoDB Local serialises transactions, so conflicts (as real DynamoDB reports
      // them under contention) are injected in front of the real client.
      const conflict = () => new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'TransactionConflict' }],
      });
      const flaky = (conflicts: number) => {
        let left = conflicts;
        return {
          send: (command: unknown) => {
            if (command instanceof TransactWriteItemsCommand && left-- > 0) return Promise.reject(conflict());
            return client.send(command as GetItemCommand);
          },
        } as unknown as DynamoDBClient;
      };
      const ns = scope('namespace');
      const retrying = new DynamoStateStore({ tableName: tables.state, client: flaky(2), maxTransactionAttempts: 3 });
      const stuck = new DynamoStateStore({ tableName: tables.state, client: flaky(Infinity), maxTransactionAttempts: 3 });

      // Act
      const afterConflicts = await retrying.recordAction([ns], { [ns]: 3 }, HOUR, T0);
      const persistent = await stuck.recordAction([ns], { [ns]: 3 }, HOUR, T0).catch((error: unknown) => error);

      // Assess: counted once after two conflicts; a lasting conflict is an error, never a silent "yes".
      expect(afterConflicts).toBe(true);
      expect(persistent).toBeInstanceOf(TransactionCanceledException);
      expect(await newStore().countActions([ns], HOUR, T0)).toEqual({ [ns]: 1 });
    });

    it('refuses a zero limit, and rejects a scope without a limit or a call without scopes', async () => {
      // Prepare
      const store = newStore();
      const [ns, cluster] = [scope('namespace'), scope('cluster')];

      // Act + Assess
      expect(await store.recordAction([ns, cluster], { [ns]: 0, [cluster]: 10 }, HOUR, T0)).toBe(false);
      await expect(store.recordAction([ns, cluster], { [ns]: 3 }, HOUR, T0)).rejects.toThrow(/no valid limit/);
      await expect(store.recordAction([], {}, HOUR, T0)).rejects.toThrow(/at least one scope/);
      await expect(store.countActions([ns], 0, T0)).rejects.toThrow(/invalid counter window/);
      expect(await store.countActions([ns, cluster], HOUR, T0)).toEqual({ [ns]: 0, [cluster]: 0 });
    });
  });

  describe('table and failure behaviour', () => {
    it('has TTL enabled on expiresAt, as tables.ts declares', async () => {
      // Act
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tables.state }));

      // Assess
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
    });

    it('works with the shared client configured only through AWS_ENDPOINT_URL_DYNAMODB, as the wiring uses it', async () => {
      // Prepare: the environment a local run or Lambda gets; no client passed in.
      const saved = { ...process.env };
      Object.assign(process.env, {
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      });
      resetAwsClients();
      try {
        const store = new DynamoStateStore({ tableName: tables.state });
        const id = `inc-${randomUUID()}`;

        // Act
        const first = await store.recordIfNew(id, 60, T0);
        const shared = dynamoDbClient() === dynamoDbClient();

        // Assess: the write landed in this DynamoDB Local (visible through the test's own client).
        expect(first).toBe(true);
        expect(shared).toBe(true);
        expect(await rawItem(stateKeys.dedup(id))).toBeDefined();
      } finally {
        resetAwsClients();
        for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
        Object.assign(process.env, saved);
      }
    });

    it('gives up on an endpoint that accepts connections but never answers, within the bounded retry budget', async () => {
      // Prepare: a real socket that swallows requests (a wedged proxy or a black-holed endpoint).
      const sockets: Socket[] = [];
      const server = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const hungClient = createDynamoDbClient({ endpoint: `http://127.0.0.1:${port}`, ...localAws() });
      const store = new DynamoStateStore({ tableName: tables.state, client: hungClient });
      const started = Date.now();

      try {
        // Act
        const outcome = await store.claimIncident('hung', 60, T0).then(
          () => 'resolved',
          (error: unknown) => (error instanceof Error ? error.name : 'non-error'),
        );
        const elapsed = Date.now() - started;

        // Assess: a timeout error (not a silent hang, not "false"), after every attempt, in bounded time.
        expect(outcome).toBe('TimeoutError');
        expect(sockets).toHaveLength(LAMBDA_CLIENT_DEFAULTS.maxAttempts);
        const budget = LAMBDA_CLIENT_DEFAULTS.maxAttempts * (LAMBDA_CLIENT_DEFAULTS.requestHandler.requestTimeout + 2_000);
        expect(elapsed).toBeLessThan(budget);
      } finally {
        hungClient.destroy();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('propagates errors other than a failed condition, so callers fail closed', async () => {
      // Prepare: a table that does not exist.
      const broken = new DynamoStateStore({ tableName: `missing-${randomUUID()}`, client });

      // Act + Assess
      await expect(broken.claimIncident('x', 60, T0)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(broken.recordIfNew('x', 60, T0)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(broken.cooldownUntil('x', T0)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(broken.countActions(['x'], 3600, T0)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(broken.recordAction(['x'], { x: 3 }, 3600, T0)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });
  });
});
