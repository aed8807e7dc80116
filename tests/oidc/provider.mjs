// A real OpenID provider (node's oidc-provider, pinned in package.json) playing ID-porten for the
// inbox tests: authorization code flow, PKCE (S256) required, ID tokens with `pid` and `acr`
// (idporten-loa-substantial | idporten-loa-high, chosen on its sign-in page the way a citizen picks
// MinID or BankID). Test-only; nothing here is ours but this configuration and the sign-in page.
//
// Environment: OIDC_PORT (the issuer is http://127.0.0.1:OIDC_PORT), OIDC_CLIENTS (JSON array of
// client metadata, e.g. [{"client_id","client_secret","redirect_uris":[...]}] or with "jwks" and
// "token_endpoint_auth_method":"private_key_jwt").
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((c) => ({
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: c.jwks ? 'private_key_jwt' : 'client_secret_basic',
  ...c,
}));
const LEVELS = ['idporten-loa-substantial', 'idporten-loa-high'];

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signing = { ...(await exportJWK(privateKey)), kid: 'test-signing-key', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signing] },
  acrValues: LEVELS,
  scopes: ['openid', 'profile'],
  claims: { openid: ['sub', 'pid'] },
  conformIdTokenClaims: false, // the person (pid) in the ID token, as ID-porten does
  pkce: { required: () => true },
  cookies: { keys: ['test-only-cookie-key'] },
  features: { devInteractions: { enabled: false } },
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, pid: id }) }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // No consent screen: ID-porten asks none for the public sector's own services.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const found = await ctx.oidc.provider.Grant.find(grantId);
      if (found) return found;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile');
    grant.addOIDCClaims(['pid']);
    await grant.save();
    return grant;
  },
});

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    const wanted = details.params.acr_values || '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><html><head><title>ID-porten (test)</title></head><body>
<h1>ID-porten (test provider)</h1>
<p id="requested-acr">${esc(wanted)}</p>
<form method="post" action="/interaction/${esc(details.uid)}">
<label>Fødselsnummer <input id="pid" name="pid" autocomplete="off"></label>
<button id="minid" name="acr" value="idporten-loa-substantial" type="submit">MinID (nivå 3)</button>
<button id="bankid" name="acr" value="idporten-loa-high" type="submit">BankID (nivå 4)</button>
</form></body></html>`);
    return;
  }
  const form = await readForm(req);
  const pid = form.get('pid') || '';
  const acr = form.get('acr') || '';
  if (!/^\d{11}$/.test(pid) || !LEVELS.includes(acr)) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('pid (11 digits) and acr expected');
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: pid, acr } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
http
  .createServer((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(req, res).catch((err) => {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(String(err && err.message));
      });
      return;
    }
    callback(req, res);
  })
  .listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
