// Digital Bazaar's VC 2.0 stack (@digitalbazaar/vc, data-integrity, eddsa-rdfc-2022-cryptosuite,
// ed25519-multikey, did-method-key, security-document-loader, vc-bitstring-status-list) as a
// peer for Sigillo's interop tests. Everything is loaded statically: no network.
// Reads one JSON request on stdin, writes one JSON answer on stdout; exits 1 with {"error"}.
//   {"op": "verify", "credential", "documents": {url: document}} -> {"verified"}
//   {"op": "issue", "credential"} -> {"credential", "did"}   (a did:key Ed25519 issuer)
//   {"op": "status", "credential", "documents"} -> {"verified", "status"}
//   {"op": "bench", "seconds", "context"} -> issue and verify rates
import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {securityLoader} from '@digitalbazaar/security-document-loader';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

// Static documents: the ones the request brings (Sigillo's context, DID documents, status
// lists), each DID document's verification methods by id, then the security loader's contexts.
function loaderFor(documents = {}) {
  const base = securityLoader();
  const byUrl = new Map(Object.entries(documents));
  for (const document of Object.values(documents)) {
    for (const method of document.verificationMethod ?? []) {
      byUrl.set(method.id, {'@context': MULTIKEY_CONTEXT, ...method});
    }
  }
  const builtin = base.build();
  return async (url) => {
    if (byUrl.has(url)) {
      return {contextUrl: null, documentUrl: url, document: byUrl.get(url)};
    }
    return builtin(url);
  };
}

const suite = () => new DataIntegrityProof({cryptosuite: eddsaRdfc2022});

async function issue(credential, documents) {
  const keyPair = await Ed25519Multikey.generate();
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  keyPair.controller = did;
  keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
  const signer = keyPair.signer();
  const issued = await vc.issue({
    credential: {...credential, issuer: did},
    suite: new DataIntegrityProof({signer, cryptosuite: eddsaRdfc2022}),
    documentLoader: loaderFor(documents),
  });
  return {credential: issued, did, keyPair};
}

async function run() {
  switch (input.op) {
    case 'verify': {
      const documentLoader = loaderFor(input.documents);
      const result = await vc.verifyCredential({
        credential: input.credential,
        suite: suite(),
        documentLoader,
        checkStatus: input.credential.credentialStatus ? (options) => checkStatus({...options, documentLoader, suite: suite()}) : undefined,
      });
      if (!result.verified) {
        throw new Error(JSON.stringify(result.error?.errors?.map((e) => e.message) ?? result.error?.message ?? result));
      }
      return {verified: true};
    }
    case 'issue': {
      const {credential, did} = await issue(input.credential, input.documents);
      return {credential, did};
    }
    case 'status': {
      const result = await checkStatus({
        credential: input.credential,
        documentLoader: loaderFor(input.documents),
        suite: suite(),
        verifyBitstringStatusListCredential: true,
        verifyMatchingIssuers: true,
      });
      if (result.error) throw result.error;
      return {verified: result.verified, status: result.results?.map((r) => ({purpose: r.credentialStatus?.statusPurpose ?? r.statusPurpose, status: r.status}))};
    }
    case 'bench': {
      const {credential: sample, did, keyPair} = await issue(input.credential, input.documents);
      const signer = keyPair.signer();
      const signing = new DataIntegrityProof({signer, cryptosuite: eddsaRdfc2022});
      const loader = loaderFor(input.documents);
      const rate = async (work) => {
        const start = Date.now();
        let count = 0;
        while (Date.now() - start < input.seconds * 1000) { await work(); count++; }
        return count / ((Date.now() - start) / 1000);
      };
      const unsigned = {...input.credential, issuer: did};
      return {
        issue: await rate(() => vc.issue({credential: {...unsigned}, suite: signing, documentLoader: loader})),
        verify: await rate(() => vc.verifyCredential({credential: sample, suite: suite(), documentLoader: loader})),
      };
    }
    default:
      throw new Error(`unknown op ${input.op}`);
  }
}

try {
  process.stdout.write(JSON.stringify(await run()));
} catch (error) {
  process.stdout.write(JSON.stringify({error: String(error?.message ?? error)}));
  process.exit(1);
}
