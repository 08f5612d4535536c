"""The SigV4 signature STS computes for a presigned request, by botocore (AWS's Python SDK).

One place for it: moto_sts_proxy.py checks each presigned GetCallerIdentity with it, and
botocore-sigv4.ts asks it directly. It recomputes from the request as it arrives: the URL's own
date, credential scope and query, and the values of the headers X-Amz-SignedHeaders names as the
request carries them (for an EKS token: host and the x-k8s-aws-id the verifier sends).
"""

import datetime
from collections.abc import Mapping
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def presigned_signature(url: str, headers: Mapping[str, str], secret_access_key: str) -> str:
    """The X-Amz-Signature STS expects for `url` sent with `headers`, signed with that secret."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    key, _day, region, service, _terminator = query["X-Amz-Credential"].split("/")
    when = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    signed = {name.lower() for name in query["X-Amz-SignedHeaders"].split(";")}
    # botocore derives host from the URL and signs every header it is given: give it the signed ones.
    carried = {name: value for name, value in headers.items() if name.lower() in signed and name.lower() != "host"}
    params = {name: value for name, value in query.items() if not name.startswith("X-Amz-")}
    request = AWSRequest(method="GET", url=f"{parts.scheme}://{parts.netloc}{parts.path}", params=params, headers=carried)
    credentials = Credentials(key, secret_access_key, query.get("X-Amz-Security-Token"))
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4QueryAuth(credentials, service, region, expires=int(query["X-Amz-Expires"])).add_auth(request)
    return dict(parse_qsl(urlsplit(request.url).query))["X-Amz-Signature"]
