import createClient from 'openapi-fetch';
import type { paths } from '../docs/openapi-types.js';

/** Creates a user with a password, then logs them in: every path, body and answer is typed. */
export async function signUpAndLogIn(baseUrl: string, clientToken: string, username: string) {
  const twofold = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${clientToken}` } });
  const password = 'correct horse battery staple';
  const created = await twofold.POST('/cis/v1/users', {
    body: { email: `${username}@example.com`, username, credentials: { password } },
  });
  if (created.error) throw new Error(`${created.error.error_code}: ${created.error.message}`);
  const login = await twofold.POST('/cis/v1/auth/password/authenticate', { body: { username, password } });
  if (login.error) throw new Error(`${login.error.error_code}: ${login.error.message}`);
  return { userId: created.data.result.user_id, sessionId: login.data.session_id, idToken: login.data.id_token };
}
