/**
 * An independent SigV4 presigner: botocore's (AWS's Python SDK, in the venv beside moto). Given a
 * token's presigned URL and the x-k8s-aws-id value a verifier would send, it recomputes the
 * signature STS would expect, from the URL's own date, credential scope and query. A token whose
 * signature differs is one real STS refuses (SignatureDoesNotMatch).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { motoServerPath } from './moto.js';

const SCRIPT = `
import datetime, json, sys
from unittest import mock
from urllib.parse import urlsplit, parse_qsl
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.load(sys.stdin)
u = urlsplit(a['url'])
q = dict(parse_qsl(u.query))
key, day, region, service, _ = q['X-Amz-Credential'].split('/')
when = datetime.datetime.strptime(q['X-Amz-Date'], '%Y%m%dT%H%M%SZ')
params = {k: v for k, v in q.items() if not k.startswith('X-Amz-')}
req = AWSRequest(method='GET', url=f'{u.scheme}://{u.netloc}{u.path}', params=params, headers={'x-k8s-aws-id': a['clusterId']})
with mock.patch('botocore.auth.get_current_datetime', return_value=when):
    SigV4QueryAuth(Credentials(key, a['secretAccessKey'], q.get('X-Amz-Security-Token')), service, region, expires=int(q['X-Amz-Expires'])).add_auth(req)
print(dict(parse_qsl(urlsplit(req.url).query))['X-Amz-Signature'])
`;

/** The signature STS would compute for `url` when the verifier sends `x-k8s-aws-id: clusterId`. */
export function botocoreSignature(url: string, clusterId: string, secretAccessKey: string): Promise<string> {
  const python = path.join(path.dirname(motoServerPath()), 'python');
  return new Promise((resolve, reject) => {
    const child = execFile(python, ['-c', SCRIPT], (error, stdout, stderr) => (error ? reject(new Error(`botocore: ${stderr || error.message}`)) : resolve(stdout.trim())));
    child.stdin?.end(JSON.stringify({ url, clusterId, secretAccessKey }));
  });
}
