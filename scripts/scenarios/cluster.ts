// Scenario: a Kubernetes cluster backed up as an etcd snapshot (`etcdctl snapshot save`, as kubeadm's
// and most managed-cluster runbooks do). A real etcd and the test bed's real kube-apiserver run in
// run-owned temp dirs on free ports; namespaces, Deployments and Secrets are created through the
// Kubernetes API; the API server stops and etcd's snapshot is saved. Everything started is removed.
//
//   node scripts/scenarios/cluster.ts --out <dir> [--scale N] [--damage truncated|corrupt]
//
// truncated: the snapshot loses its last byte; corrupt: one byte in its middle is flipped.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { apiClient, kubeApiServerBinary, startApiServer } from '../../src/engines/etcd/apiserver.ts';
import { etcdServerVersion } from '../../src/engines/etcd/client.ts';
import { etcdBinary, etcdctlBinary } from '../../src/engines/etcd/local.ts';
import { snapshotStatus } from '../../src/engines/etcd/snapshot.ts';
import { newRunId } from '../../src/run/identity.ts';
import { freePort, LocalServer } from '../../src/runtimes/local/server.ts';
import { runTool } from '../../src/util/process.ts';

export type ClusterDamage = 'truncated' | 'corrupt';

export interface ClusterOptions {
  out: string;
  scale?: number;
  damage?: ClusterDamage;
}

/** What the generator created, per namespace (the drill's expectations are checked against these). */
export interface ClusterCounts {
  deployments: Record<string, number>;
  secrets: Record<string, number>;
}

export async function makeClusterScenario(options: ClusterOptions) {
  const scale = options.scale ?? 1;
  await rm(options.out, { recursive: true, force: true });
  await mkdir(options.out, { recursive: true });
  const signal = new AbortController().signal;
  const runId = `${newRunId()}-scenario`;
  const counts: ClusterCounts = {
    deployments: { prod: 12 * scale, payments: 3, staging: 4 * scale },
    secrets: { prod: 2, payments: 6 * scale, staging: 1 },
  };
  const snapshot = join(options.out, 'etcd-snapshot.db');
  const spec = { server: process.env.RESTOREPROOF_ETCD, ctl: process.env.RESTOREPROOF_ETCDCTL };
  const [etcd, etcdctl, apiServer] = [await etcdBinary(spec), await etcdctlBinary(spec), await kubeApiServerBinary()];

  const store = await LocalServer.forStore({ runId, storeName: 'etcd' });
  try {
    const [port, peer] = [await freePort(), await freePort()];
    const client = `http://127.0.0.1:${port}`;
    store.start(etcd, ['--name', 'cluster', '--data-dir', join(store.dir, 'data'), '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `cluster=http://127.0.0.1:${peer}`]);
    await store.waitReady('etcd', () => etcdServerVersion({ host: '127.0.0.1', port, user: '', password: '' }), signal);

    const api = await startApiServer({ runId, name: 'kube-apiserver', etcd: client, binary: apiServer, signal });
    try {
      const k = await apiClient(api);
      for (const namespace of Object.keys(counts.deployments)) {
        await k.core.createNamespace({ body: { metadata: { name: namespace, labels: { tier: namespace } } } });
        for (let i = 1; i <= counts.deployments[namespace]!; i++) {
          const name = `${namespace === 'payments' ? 'ledger' : 'web'}-${i}`;
          await k.apps.createNamespacedDeployment({
            namespace,
            body: {
              metadata: { name, labels: { app: name } },
              spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.example/${name}:1.${i}` }] } } },
            },
          });
        }
        for (let i = 1; i <= counts.secrets[namespace]!; i++) {
          // Made-up credentials: the snapshot holds them as a cluster's etcd does.
          await k.core.createNamespacedSecret({ namespace, body: { metadata: { name: `credentials-${i}` }, type: 'Opaque', stringData: { password: randomBytes(12).toString('base64url') } } });
        }
      }
    } finally {
      await api.server.stop();
    }

    const saved = await runTool({ command: etcdctl, args: ['--endpoints', client, 'snapshot', 'save', snapshot], env: { ETCDCTL_API: '3' }, signal });
    if (saved.exitCode !== 0) throw new Error(`etcdctl snapshot save: ${saved.stderr}`);
  } finally {
    await store.stop();
  }
  const { revision } = await snapshotStatus(etcdctl, snapshot, snapshot);
  if (options.damage === 'truncated') await truncate(snapshot, (await stat(snapshot)).size - 1);
  if (options.damage === 'corrupt') await flipByte(snapshot, Math.floor((await stat(snapshot)).size / 2));
  return { dir: options.out, snapshot, counts, revision };
}

async function flipByte(path: string, offset: number): Promise<void> {
  const file = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    await file.write(byte, 0, 1, offset);
  } finally {
    await file.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, scale: { type: 'string' }, damage: { type: 'string' } } });
  const out = values.out ?? new URL('../../drills/backups/cluster', import.meta.url).pathname;
  if (values.damage && values.damage !== 'truncated' && values.damage !== 'corrupt') throw new Error(`--damage: truncated or corrupt, not ${values.damage}`);
  const made = await makeClusterScenario({ out, scale: Number(values.scale ?? 1), ...(values.damage ? { damage: values.damage as ClusterDamage } : {}) });
  console.error(`cluster scenario in ${made.dir}: revision ${made.revision}, ${JSON.stringify(made.counts)}`);
}
