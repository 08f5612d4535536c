/**
 * An independent SigV4 presigner: botocore's (AWS's Python SDK, in the venv beside moto), through
 * test/support/sts_signature.py, the same computation moto_sts_proxy.py checks tokens with. Given a
 * token's presigned URL and the x-k8s-aws-id value a verifier would send, it recomputes the
 * signature STS would expect, from the URL's own date, credential scope and query. A token whose
 * signature differs is one real STS refuses (SignatureDoesNotMatch).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { motoServerPath } from './moto.js';

const SCRIPT = `
import json, sys
sys.path.insert(0, sys.argv[1])
from sts_signature import presigned_signature
a = json.load(sys.stdin)
print(presigned_signature(a['url'], {'x-k8s-aws-id': a['clusterId']}, a['secretAccessKey']))
`;

/** The signature STS would compute for `url` when the verifier sends `x-k8s-aws-id: clusterId`. */
export function botocoreSignature(url: string, clusterId: string, secretAccessKey: string): Promise<string> {
  const python = path.join(path.dirname(motoServerPath()), 'python');
  return new Promise((resolve, reject) => {
    const child = execFile(python, ['-c', SCRIPT, import.meta.dirname], (error, stdout, stderr) => (error ? reject(new Error(`botocore: ${stderr || error.message}`)) : resolve(stdout.trim())));
    child.stdin?.end(JSON.stringify({ url, clusterId, secretAccessKey }));
  });
}
