/**
 * Environment variables whose values are secrets by their name alone, so they are masked even when no
 * runbook declared them `secret: true`.
 */

/**
 * Names of environment variables whose values are always treated as secrets (besides the suffix rule
 * of {@link isSecretEnvName}).
 *
 * `DATABASE_URL` and `SLACK_WEBHOOK_URL` are masked as a *whole value*, not just a password part:
 * a webhook URL is itself the credential (the token is in the path), and a database URL can carry
 * credentials outside the password (`?sslkey=`, `?password=`, a token as user name) or not be a URL at
 * all (a libpq `host=… password=…` string), so no part of it can be assumed harmless. The whole value is
 * what a tool echoes in an error message anyway; the password alone is *also* masked (see
 * {@link secretsFromEnv}) because it is often printed by itself.
 */
export const SECRET_ENV_NAMES: readonly string[] = [
  'PGPASSWORD',
  'RESTIC_PASSWORD',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'GITLAB_TOKEN',
  'CI_JOB_TOKEN',
  'VAULT_TOKEN',
  'KUBE_TOKEN',
  'DOCKER_PASSWORD',
  'SLACK_WEBHOOK_URL',
  'DATABASE_URL',
  // MySQL's own password variable, as PGPASSWORD is PostgreSQL's.
  'MYSQL_PWD',
];

/**
 * Name suffixes that mark a secret (`DB_PASSWORD`, `DB_PASSWD`, `STRIPE_API_KEY`, `X_SECRET_KEY`,
 * `GITHUB_PAT` (a personal access token), ...); a name that *is* one of
 * them (`PASSWORD`, `TOKEN`) counts too. Compared case-insensitively: `db_password` is just as secret.
 * A name that merely contains one (`NPM_TOKEN_FILE`, a path) does not count.
 */
const SECRET_SUFFIX = /(?:^|_)(?:PASSWORD|PASSWD|SECRET|SECRET_KEY|TOKEN|API_KEY|PRIVATE_KEY|ACCESS_KEY|PAT)$/i;

/** Whether the value of the environment variable `name` is a secret by name (list or suffix rule), or is in `extraNames`. */
export function isSecretEnvName(name: string, extraNames: readonly string[] = []): boolean {
  const upper = name.toUpperCase();
  return (
    SECRET_SUFFIX.test(name) ||
    SECRET_ENV_NAMES.includes(upper) ||
    extraNames.some((n) => n.toUpperCase() === upper)
  );
}

/**
 * The non-empty values of `env` whose names are secret (see {@link isSecretEnvName}), without
 * duplicates. For a value that is a URL with a password in its userinfo
 * (`postgres://user:pa%40ss@host/db`), the password alone is returned as well — both percent-encoded
 * and decoded — so it is masked wherever it appears by itself.
 */
export function secretsFromEnv(env: Record<string, string | undefined>, extraNames: string[] = []): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value || !isSecretEnvName(name, extraNames)) continue;
    out.add(value);
    for (const p of urlPassword(value)) out.add(p);
  }
  return [...out];
}

/** The password of a URL's userinfo, percent-encoded and decoded (no duplicates); empty when there is none. */
function urlPassword(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  let raw: string;
  try {
    raw = new URL(value).password;
  } catch {
    // Not a valid URL, typically a password with an unescaped `/` or `#`: take everything between the
    // first `:` after the user name and the last `@`. Over-taking is harmless here (the whole value is
    // masked anyway); under-taking would leak.
    raw = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:(.+)@[^@]*$/is.exec(value)?.[1] ?? '';
  }
  if (!raw) return [];
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Malformed escape: the raw form is all there is.
  }
  return decoded === raw ? [raw] : [raw, decoded];
}
