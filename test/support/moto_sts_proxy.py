"""moto's proxy (moto_proxy, same arguments) with two real STS behaviours moto 5.2.5 lacks.

Run with the venv's python (scripts/setup-tools.sh): `venv/bin/python moto_sts_proxy.py -H 127.0.0.1 -p PORT`.
Used by test/integration/eks-verifier.test.ts, where aws-iam-authenticator replays the healer's
EKS token (a presigned STS GetCallerIdentity URL) through this proxy.

Only moto's STS handler (moto.sts.responses.TokenResponse) changes; every other service and all
of moto's logic are untouched:

1. JSON for `Accept: application/json`. Real STS answers a query-protocol request in JSON when
   asked with that header, and aws-iam-authenticator relies on it (pkg/token/token.go sends
   `accept: application/json` and json.Unmarshals GetCallerIdentityResponse.GetCallerIdentityResult).
   moto answers JSON only for a `ContentType=JSON` query parameter; this adds the header, so moto's
   own "query-json" serializer writes the answer.
2. The caller of a presigned URL. Real STS identifies the caller of a presigned (query-string
   SigV4) request by the access key in X-Amz-Credential. moto reads the key only from the
   Authorization header or AWSAccessKeyId, so every presigned GetCallerIdentity came back as its
   default `user/moto`; this reads X-Amz-Credential too, and moto's own STS backend maps the key
   (for an AssumeRole key: the assumed-role ARN and `AROA…:<session>` user id).

What this does not add: a signature check. moto verifies SigV4 only from an Authorization header,
and only with its IAM authentication on (INITIAL_NO_AUTH_ACTION_COUNT, off by default); it never
checks a presigned URL's X-Amz-Signature (with authentication on, moto.iam.access_control reads
the Authorization header unconditionally and a presigned GetCallerIdentity fails: KeyError
'HTTP_AUTHORIZATION', 502 from the proxy). So through this proxy a tampered or another cluster's
token still reads as its caller, where real STS answers SignatureDoesNotMatch.
"""

import sys

from moto.proxy import main
from moto.sts.responses import TokenResponse


def _request_json(self: TokenResponse) -> bool:
    return "JSON" in self.querystring.get("ContentType", []) or "application/json" in self.headers.get("Accept", "")


def _get_access_key(self: TokenResponse) -> str:
    credential = self.querystring.get("X-Amz-Credential")
    if credential and "Authorization" not in self.headers:
        return credential[0].split("/")[0]
    return _moto_get_access_key(self)


_moto_get_access_key = TokenResponse.get_access_key
TokenResponse.request_json = property(_request_json)  # type: ignore[assignment]
TokenResponse.get_access_key = _get_access_key  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
