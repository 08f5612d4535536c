import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../lib/config/config.js';
import { approvalEntry } from '../lib/wiring/approve.js';
import { httpErrors, log } from '../lib/wiring/middleware.js';
import { functionMetrics, observed } from '../lib/wiring/observability.js';

const metrics = functionMetrics();
const approveRequest = approvalEntry(loadConfig(), { metrics });

/**
 * GET /approve?token=… shows what would be done (reads only: link scanners and chat previews open
 * links too); POST /approve with the token confirms, and the action runs after the full policy
 * passes again on live state. Who approved from where is audited.
 */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(observed(metrics))
  .use(httpErrors(metrics))
  .handler(async (event) => {
    const response = await approveRequest({
      method: event.requestContext.http.method,
      query: event.queryStringParameters ?? {},
      headers: event.headers ?? {},
      body: event.body,
      isBase64Encoded: event.isBase64Encoded,
      sourceIp: event.requestContext.http.sourceIp,
      userAgent: event.requestContext.http.userAgent,
      // An authorizer in front (JWT/IAM) names the person; the link alone is then not enough.
      principal: principalOf(event),
    });
    log(response.statusCode < 400 ? 'info' : 'warn', 'approval request', { statusCode: response.statusCode, method: event.requestContext.http.method });
    return response;
  });

function principalOf(event: APIGatewayProxyEventV2): string | undefined {
  const context = event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> }; iam?: { userArn?: string } } };
  const claims = context.authorizer?.jwt?.claims;
  const fromJwt = claims?.['email'] ?? claims?.['sub'];
  if (typeof fromJwt === 'string') return fromJwt;
  return context.authorizer?.iam?.userArn;
}
