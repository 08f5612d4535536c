"""moto's proxy (moto_proxy, same arguments) with three real STS behaviours moto 5.2.5 lacks.

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
3. The signature of a presigned URL. moto verifies SigV4 only from an Authorization header, and
   only with its IAM authentication on (INITIAL_NO_AUTH_ACTION_COUNT, off by default); it never
   checks X-Amz-Signature (with authentication on, moto.iam.access_control reads the Authorization
   header unconditionally and a presigned GetCallerIdentity fails: KeyError 'HTTP_AUTHORIZATION').
   This checks a presigned GetCallerIdentity as STS does: the access key and session token must
   be ones moto issued (moto's own lookup; else InvalidClientTokenId, 403), and the signature
   botocore computes with that key's secret over the request as it arrived (its query and the
   headers it says it signed, such as the verifier's x-k8s-aws-id) must be the one it carries
   (else SignatureDoesNotMatch, 403). A tampered token or another cluster's is refused here as by
   STS. What it does not check: the presigned URL's own X-Amz-Expires (the verifier's 15 minutes
   are what decide expiry; how STS weighs the two for GetCallerIdentity is not reproduced).
"""

import hmac
import sys
from pathlib import Path

from moto.core.exceptions import InvalidClientTokenIdError, SignatureDoesNotMatchError
from moto.iam.access_control import CreateAccessKeyFailure, create_access_key
from moto.proxy import main
from moto.sts.responses import TokenResponse

sys.path.insert(0, str(Path(__file__).parent))
from sts_signature import presigned_signature  # noqa: E402


def _request_json(self: TokenResponse) -> bool:
    return "JSON" in self.querystring.get("ContentType", []) or "application/json" in self.headers.get("Accept", "")


def _get_access_key(self: TokenResponse) -> str:
    credential = self.querystring.get("X-Amz-Credential")
    if credential and "Authorization" not in self.headers:
        return credential[0].split("/")[0]
    return _moto_get_access_key(self)


def _check_presigned_signature(self: TokenResponse) -> None:
    query = {name: values[0] for name, values in self.querystring.items()}
    if "X-Amz-Signature" not in query or "Authorization" in self.headers:
        return
    session_token = query.get("X-Amz-Security-Token")
    try:
        key = create_access_key(
            self.current_account,
            self.partition,
            query.get("X-Amz-Credential", "").split("/")[0],
            {"X-Amz-Security-Token": session_token} if session_token else {},
        )
        expected = presigned_signature(self.uri, dict(self.headers.items()), key.create_credentials().secret_key)
    except CreateAccessKeyFailure:
        raise InvalidClientTokenIdError()
    except (KeyError, ValueError):
        raise SignatureDoesNotMatchError()
    if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
        raise SignatureDoesNotMatchError()


def _get_caller_identity(self: TokenResponse):  # type: ignore[no-untyped-def]
    _check_presigned_signature(self)
    return _moto_get_caller_identity(self)


_moto_get_access_key = TokenResponse.get_access_key
_moto_get_caller_identity = TokenResponse.get_caller_identity
TokenResponse.request_json = property(_request_json)  # type: ignore[assignment]
TokenResponse.get_access_key = _get_access_key  # type: ignore[method-assign]
TokenResponse.get_caller_identity = _get_caller_identity  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
