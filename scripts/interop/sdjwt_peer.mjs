// The npm SD-JWT VC stack (@sd-jwt/sd-jwt-vc, @sd-jwt/crypto-nodejs, @sd-jwt/jwt-status-list)
// as a peer for Sigillo's interop tests. Reads one JSON request on stdin, writes one JSON answer
// on stdout; exits 1 with {"error"} when the peer refuses.
//   {"op": "verify", "credential", "issuerJwk", "statusListJwt"?, "nonce"?, "aud"?}
//   {"op": "issue", "vct", "iss", "claims", "disclosable": [names], "holderJwk"?}
//       -> {"credential", "issuerJwk"}
//   {"op": "present", "credential", "issuerJwk", "frame", "holderPrivateJwk", "aud", "nonce"}
//   {"op": "status", "statusListJwt", "index"} -> {"status"}
//   {"op": "bench", "seconds"} -> issue and verify rates, ES256, 10 disclosable claims
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const kbVerifier = async (data, signature, payload) =>
  (await ES256.getVerifier(payload.cnf.jwk))(data, signature);

function instance({ signer, issuerJwk, statusListJwt, kbSigner }) {
  return new SDJwtVcInstance({
    signer,
    signAlg: ES256.alg,
    verifier: issuerJwk ? async (data, sig) => (await ES256.getVerifier(issuerJwk))(data, sig) : undefined,
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    kbSigner,
    kbSignAlg: ES256.alg,
    kbVerifier,
    loadTypeMetadataFormat: false,
    // The status list comes with the request: the peer reads our list, offline.
    statusListFetcher: async () => {
      if (!statusListJwt) throw new Error('no status list given');
      return statusListJwt;
    },
  });
}

async function run() {
  switch (input.op) {
    case 'verify': {
      const sdjwt = instance(input);
      const result = await sdjwt.verify(input.credential, input.nonce ? { keyBindingNonce: input.nonce } : {});
      if (input.aud && result.kb?.payload?.aud !== input.aud) throw new Error('aud mismatch');
      return { payload: result.payload, kb: result.kb?.payload ?? null };
    }
    case 'issue': {
      const { privateKey, publicKey } = await ES256.generateKeyPair();
      const sdjwt = instance({ signer: await ES256.getSigner(privateKey), issuerJwk: publicKey });
      const payload = { iss: input.iss, iat: Math.floor(Date.now() / 1000), vct: input.vct, ...input.claims };
      if (input.holderJwk) payload.cnf = { jwk: input.holderJwk };
      const credential = await sdjwt.issue(payload, { _sd: input.disclosable }, { header: { kid: `${input.iss}#0` } });
      return { credential, issuerJwk: publicKey };
    }
    case 'present': {
      const sdjwt = instance({ issuerJwk: input.issuerJwk, kbSigner: await ES256.getSigner(input.holderPrivateJwk) });
      const presentation = await sdjwt.present(input.credential, input.frame, {
        kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: input.aud, nonce: input.nonce } },
      });
      return { presentation };
    }
    case 'status': {
      return { status: getListFromStatusListJWT(input.statusListJwt).getStatus(input.index) };
    }
    case 'bench': {
      const { privateKey, publicKey } = await ES256.generateKeyPair();
      const sdjwt = instance({ signer: await ES256.getSigner(privateKey), issuerJwk: publicKey });
      const claims = {};
      for (let i = 0; i < 10; i++) claims[`claim_${i}`] = `value ${i}`;
      const frame = { _sd: Object.keys(claims) };
      const payload = { iss: 'https://peer', iat: Math.floor(Date.now() / 1000), vct: 'urn:bench', ...claims };
      const rate = async (work) => {
        const end = Date.now() + input.seconds * 1000;
        let count = 0;
        const start = Date.now();
        while (Date.now() < end) { await work(); count++; }
        return count / ((Date.now() - start) / 1000);
      };
      const sample = await sdjwt.issue(payload, frame);
      return { issue: await rate(() => sdjwt.issue(payload, frame)), verify: await rate(() => sdjwt.verify(sample)) };
    }
    default:
      throw new Error(`unknown op ${input.op}`);
  }
}

try {
  process.stdout.write(JSON.stringify(await run()));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error?.message ?? error) }));
  process.exit(1);
}
