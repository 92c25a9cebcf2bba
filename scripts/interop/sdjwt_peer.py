"""The PyPI SD-JWT implementation (sd-jwt, OpenWallet Foundation) as a peer for Sigillo's
interop tests. Reads one JSON request on stdin and writes one JSON answer on stdout; exits 1
with {"error"} when the peer refuses.

  {"op": "verify", "credential", "issuerJwk", "aud"?, "nonce"?} -> {"payload"}
  {"op": "issue", "iss", "vct", "claims", "disclosable", "holderJwk"?} -> {"credential", "issuerJwk"}
  {"op": "present", "credential", "disclose": {name: true}, "holderPrivateJwk", "aud", "nonce"}
  {"op": "bench", "seconds"} -> issue and verify rates, ES256, 10 disclosable claims
"""

import json
import sys
import time

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier


def verify(request):
    key = JWK.from_json(json.dumps(request["issuerJwk"]))
    verifier = SDJWTVerifier(
        request["credential"],
        lambda issuer, header: key,
        expected_aud=request.get("aud"),
        expected_nonce=request.get("nonce"),
    )
    return {"payload": verifier.get_verified_payload()}


def issue(request, key=None):
    key = key or JWK.generate(kty="EC", crv="P-256")
    claims = {"iss": request["iss"], "iat": int(time.time()), "vct": request["vct"]}
    for name, value in request["claims"].items():
        claims[SDObj(name) if name in request["disclosable"] else name] = value
    holder = JWK.from_json(json.dumps(request["holderJwk"])) if request.get("holderJwk") else None
    issuer = SDJWTIssuer(
        claims,
        key,
        holder_key=holder,
        sign_alg="ES256",
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt", "kid": request["iss"] + "#0"},
    )
    return {"credential": issuer.sd_jwt_issuance, "issuerJwk": json.loads(key.export_public())}


def present(request):
    holder = SDJWTHolder(request["credential"])
    holder_key = JWK.from_json(json.dumps(request["holderPrivateJwk"]))
    holder.create_presentation(request["disclose"], request["nonce"], request["aud"], holder_key, "ES256")
    return {"presentation": holder.sd_jwt_presentation}


def bench(request):
    key = JWK.generate(kty="EC", crv="P-256")
    claims = {f"claim_{i}": f"value {i}" for i in range(10)}
    spec = {"iss": "https://peer", "vct": "urn:bench", "claims": claims, "disclosable": list(claims)}
    public = json.loads(key.export_public())
    sample = issue(spec, key)["credential"]

    def rate(work):
        start = time.perf_counter()
        count = 0
        while time.perf_counter() - start < request["seconds"]:
            work()
            count += 1
        return count / (time.perf_counter() - start)

    return {
        "issue": rate(lambda: issue(spec, key)),
        "verify": rate(lambda: verify({"credential": sample, "issuerJwk": public})),
    }


def main():
    request = json.load(sys.stdin)
    operations = {"verify": verify, "issue": issue, "present": present, "bench": bench}
    try:
        answer = operations[request["op"]](request)
    except Exception as error:  # the peer's refusal, reported to the test
        json.dump({"error": f"{type(error).__name__}: {error}"}, sys.stdout)
        sys.exit(1)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
