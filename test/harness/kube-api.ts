/**
 * A fake Kubernetes API server for tests: the real kubectl talks to it over plain HTTP through
 * a kubeconfig, so runbooks whose steps call kubectl run end to end without a cluster.
 * Deployments roll out (ReplicaSets, revisions, pods, status) a moment after they change;
 * see kube/ for discovery, patching, the deployment controller and the default seed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from './kube/cluster.js';
import { createHandler } from './kube/http.js';
import { typeOfKind } from './kube/resources.js';
import { defaultSeed, type Seed } from './kube/seed.js';

export { clusterRoleBinding, defaultSeed, deployment, type Seed, type SeedOptions } from './kube/seed.js';

export interface KubeApi {
  url: string;
  /** A kubeconfig in a temp dir: context "fake", namespace default. */
  kubeconfig: string;
  /** KUBECONFIG and a temp HOME (kubectl's discovery cache goes there); merge over process.env. */
  env: Record<string, string>;
  /** Current object (deep copy) or undefined. kind is the plural resource: 'deployments', 'pods', 'certificates', … */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get(kind: string, namespace: string | undefined, name: string): any;
  /** Put/replace an object. A deployment without status is rolled out at once (ReplicaSet, pods, status). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  put(kind: string, obj: any): void;
  /** Images matching this never become available: the rollout fails (Progressing=False, ProgressDeadlineExceeded). */
  failImages: RegExp | null;
  /** Log text by deployment name ('*' for other pods); change it to change what `kubectl logs` returns. */
  logs: Record<string, string>;
  /** Requests seen, e.g. 'PATCH /apis/apps/v1/namespaces/shop/deployments/api' (dry runs end in ' (dry run)'). */
  requests: string[];
  /** Stops rollouts, ends open watches, removes the temp dir; safe to call twice. */
  close(): Promise<void>;
}

/** Long enough that `kubectl rollout status` really waits for a rollout, short enough for tests. */
const ROLLOUT_DELAY_MS = 200;

/** Starts the server on a free port. Fields of `seed` replace the default seed's: `{ logs }` keeps its objects. */
export async function startKubeApi(seed: Partial<Seed> = {}): Promise<KubeApi> {
  const { objects, logs, usage } = { ...defaultSeed(), ...seed };
  const requests: string[] = [];
  const settings = { failImages: null as RegExp | null };
  const cluster = new Cluster({ failImages: () => settings.failImages, rolloutDelayMs: ROLLOUT_DELAY_MS, logs, usage });
  for (const o of objects) {
    const t = typeOfKind(o.kind);
    if (!t) throw new Error(`seed: unknown kind ${o.kind}`);
    cluster.put(t.plural, o);
  }

  const server = createServer(createHandler(cluster, requests));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const dir = mkdtempSync(join(tmpdir(), 'kube-api-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "${url}" } }]
contexts: [{ name: fake, context: { cluster: fake, user: fake, namespace: default } }]
current-context: fake
users: [{ name: fake, user: {} }]
`);

  return {
    url,
    kubeconfig,
    env: { KUBECONFIG: kubeconfig, HOME: home },
    get: (kind, namespace, name) => structuredClone(cluster.store.get(kind, namespace, name)),
    put: (kind, obj) => cluster.put(kind, obj),
    get failImages() {
      return settings.failImages;
    },
    set failImages(re: RegExp | null) {
      settings.failImages = re;
    },
    logs,
    requests,
    async close() {
      if (!server.listening) return;
      cluster.close();
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections(); // open watches would hold close() forever
      await closed;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
