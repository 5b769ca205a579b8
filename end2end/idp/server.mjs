// The identity provider Playwright signs in through: the npm package `oidc-provider`
// (a certified OpenID Provider) on 127.0.0.1 with one static client, idflow's.
// Its development login page accepts any login; the login becomes the account's
// subject, and a login that looks like an email is the account's verified email.
import Provider from 'oidc-provider';

export const IDP_PORT = Number(process.env.IDP_PORT ?? 3118);
const idflow = `http://127.0.0.1:${Number(process.env.IDFLOW_E2E_PORT ?? 3117)}`;
const issuer = `http://127.0.0.1:${IDP_PORT}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.IDP_CLIENT_ID ?? 'idflow-e2e',
      client_secret: process.env.IDP_CLIENT_SECRET ?? 'e2e client secret',
      redirect_uris: [`${idflow}/auth/oidc/callback`],
      post_logout_redirect_uris: [`${idflow}/auth/oidc/signed-out`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        const email = id.includes('@') ? id : `${id}@idp.example`;
        const name = email.split('@')[0].split(/[._-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
        return { sub: id, email, email_verified: true, name };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  cookies: { keys: ['idflow end-to-end test idp cookie key'] },
});

provider.listen(IDP_PORT, '127.0.0.1', () => {
  console.log(`test identity provider on ${issuer}`);
});
