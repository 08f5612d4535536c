/**
 * `npm run audit [-- <incident-id>]`: prints the audit trail of the running local healer as JSON
 * (one incident, or the most recent entries of all). Reads .healer-local/session.json, which
 * `npm start` writes, or AWS_ENDPOINT_URL_DYNAMODB + HEALER_AUDIT_TABLE.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createDynamoDbClient } from '../lib/adapters/aws-clients.js';
import { DynamoAuditLog } from '../lib/adapters/dynamo-audit-log.js';

const session = join(process.cwd(), '.healer-local', 'session.json');
const info = existsSync(session) ? (JSON.parse(readFileSync(session, 'utf8')) as { dynamoEndpoint?: string; auditTable?: string }) : {};
const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? info.dynamoEndpoint;
const table = process.env.HEALER_AUDIT_TABLE ?? info.auditTable ?? 'k8s-healer-audit';
if (!endpoint && !process.env.AWS_REGION) {
  console.error('No running local healer found (.healer-local/session.json) and no AWS_ENDPOINT_URL_DYNAMODB/AWS_REGION set. Start it with `npm start`.');
  process.exit(2);
}
const client = createDynamoDbClient({
  ...(endpoint ? { endpoint } : {}),
  region: process.env.AWS_REGION ?? 'us-east-1',
  credentials: endpoint && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
});

const incidentId = process.argv[2];
try {
  if (incidentId) {
    const entries = await new DynamoAuditLog({ tableName: table, client }).listForIncident(incidentId);
    console.log(JSON.stringify(entries, null, 2));
  } else {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, never> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []).map((i) => unmarshall(i)));
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
    items.sort((a, b) => String(a['sk']).localeCompare(String(b['sk'])));
    for (const item of items) {
      if (typeof item['detail'] === 'string') {
        try {
          item['detail'] = JSON.parse(item['detail']) as unknown;
        } catch {
          // keep the stored text as it is
        }
      }
    }
    console.log(JSON.stringify(items.slice(-200), null, 2));
  }
} catch (error) {
  console.error(`cannot read the audit table ${table} at ${endpoint ?? 'AWS'}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
} finally {
  client.destroy();
}
