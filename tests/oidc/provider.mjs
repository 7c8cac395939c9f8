// A real OpenID Provider for the tests: node-oidc-provider (OpenID Certified), pinned in package.json.
//
// Listens on a free loopback port and prints `READY <issuer>` once it serves. Clients are
// registered by the tests with Dynamic Client Registration (/reg). Two test-only endpoints:
//   POST /__test__/accounts     {"<sub>": {email, email_verified, name, tid}}: who exists (replaces)
//   POST /__test__/next-token   {"tamper": "audience|expired|nonce|issuer|signature|foreign-key"}:
//     the next token response carries an ID token changed that way, re-signed with the
//     provider's own key (or, for "signature", left with the original signature; for
//     "foreign-key", signed by a key the provider does not publish).
import http from 'node:http';

import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const accounts = new Map();
let nextTamper = null;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
const foreign = await generateKeyPair('RS256');

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [signingJwk] },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'tid'] },
  conformIdTokenClaims: false, // the claims of the granted scopes go in the ID token itself
  ttl: { IdToken: 300 },
  async findAccount(ctx, sub) {
    const claims = accounts.get(sub);
    if (!claims) return undefined;
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
  // First-party test clients: consent is given without a screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}');
}

async function tampered(idToken, how) {
  const claims = decodeJwt(idToken);
  const header = decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  const changes = {
    // Names Walkabout as the authorized party, so only the audience check itself can catch it.
    audience: { aud: 'another-application', azp: claims.aud },
    expired: { iat: now - 7200, exp: now - 3600, auth_time: now - 7200 },
    nonce: { nonce: 'not-the-nonce-walkabout-sent' },
    issuer: { iss: 'http://127.0.0.1:1/someone-else' },
    signature: { email: 'someone.else@example.org' },
    'foreign-key': {},
  }[how];
  const body = { ...claims, ...changes };
  if (how === 'signature') {
    const [head, , signature] = idToken.split('.');
    return `${head}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${signature}`;
  }
  const key = how === 'foreign-key' ? foreign.privateKey : privateKey;
  return new SignJWT(body).setProtectedHeader(header).sign(key);
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test__/accounts' && ctx.method === 'POST') {
    accounts.clear();
    for (const [sub, claims] of Object.entries(await readJson(ctx.req))) accounts.set(sub, claims);
    ctx.body = { accounts: accounts.size };
    return;
  }
  if (ctx.path === '/__test__/next-token' && ctx.method === 'POST') {
    nextTamper = (await readJson(ctx.req)).tamper || null;
    ctx.body = { tamper: nextTamper };
    return;
  }
  await next();
  if (ctx.path === '/token' && nextTamper && ctx.status === 200 && ctx.body?.id_token) {
    const how = nextTamper;
    nextTamper = null;
    ctx.body = { ...ctx.body, id_token: await tampered(ctx.body.id_token, how) };
  }
});

server.on('request', provider.callback());
process.stdout.write(`READY ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
