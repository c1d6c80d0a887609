import { join } from 'node:path';
import { ArtefactError, RestoreproofError } from '../../errors.ts';
import type { StoreSpec, StoreSpecOf } from '../../drill/types.ts';
import { runTool } from '../../util/process.ts';
import { toolStderrTail } from '../../util/tool-output.ts';
import { resolveBinary } from '../../util/tools.ts';
import type { ProvisionRequest, StartedStore } from '../../runtimes/types.ts';
import type { LocalServerDeclaration } from '../../runtimes/servers.ts';
import { describeLocalBinary, freePort, LocalServer, LocalStore } from '../../runtimes/local/server.ts';
import { etcdServerVersion } from './client.ts';
import { memberName, restoreArgs, serverArgs } from './member.ts';

type EtcdStoreSpec = StoreSpecOf<'etcd'>;

export function etcdBinary(spec: Pick<EtcdStoreSpec, 'server'>): Promise<string> {
  return resolveBinary({ explicit: spec.server, envVar: 'RESTOREPROOF_ETCD', names: ['etcd'] }, 'etcd', 'install etcd (Debian: apt-get install etcd-server) or set server in the store');
}

export function etcdctlBinary(spec: Pick<EtcdStoreSpec, 'ctl'>): Promise<string> {
  return resolveBinary({ explicit: spec.ctl, envVar: 'RESTOREPROOF_ETCDCTL', names: ['etcdctl'] }, 'etcdctl', 'install etcdctl (Debian: apt-get install etcd-client) or set ctl in the store');
}

/**
 * etcd restores by starting on a data dir made from the snapshot: `etcdctl snapshot restore` (which
 * only reads the snapshot) writes a one-member data dir in the run's temp dir, and etcd starts on it
 * with client and peer URLs on free loopback ports.
 */
export async function startLocalEtcd(request: ProvisionRequest): Promise<StartedStore> {
  const spec = request.spec as EtcdStoreSpec;
  const [binary, etcdctl] = [await etcdBinary(spec), await etcdctlBinary(spec)];
  const artefact = request.artefacts?.[0];
  if (!artefact) throw new RestoreproofError('E_PROVISION', `store ${request.storeName}: etcd needs its snapshot before it starts`);
  const server = await LocalServer.forStore(request);
  try {
    const [port, peerPort] = [await freePort(), await freePort()];
    const member = { dataDir: join(server.dir, 'data'), client: `http://127.0.0.1:${port}`, peer: `http://127.0.0.1:${peerPort}`, token: `restoreproof-${request.runId}` };
    const restored = await runTool({ command: etcdctl, args: restoreArgs(artefact.info.path, member), env: { ETCDCTL_API: '3' }, signal: request.signal });
    if (restored.exitCode !== 0) {
      throw new ArtefactError(spec.restore[artefact.step]!.artefact as string, `etcdctl snapshot restore failed: ${toolStderrTail(restored.stderr, 5)}`);
    }
    await server.own(server.dir);
    server.start(binary, serverArgs(member, member.client));
    const endpoint = { host: '127.0.0.1', port, user: '', password: '' };
    const version = await server.waitReady('etcd', () => etcdServerVersion(endpoint), request.signal);
    return new LocalStore({
      name: request.storeName,
      engine: 'etcd',
      server,
      endpoint,
      version,
      tool: (name) => (name === 'etcdctl' ? etcdctl : join(binary, '..', name)),
      toolEnv: { ETCDCTL_API: '3' },
      url: () => member.client,
      restoredAtStart: [artefact.step],
      connectionHelp: () => [
        `${request.storeName}: ${member.client} (member ${memberName}, peer ${member.peer}; dir ${server.dir}, pid ${server.pid})`,
        `  etcdctl --endpoints ${member.client} get --prefix / --keys-only`,
        `  stop it: kill ${server.pid} && rm -rf ${server.dir}`,
      ],
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** etcd on the local runtime: a data dir restored from the snapshot, client and peer on free loopback ports. */
export const etcdLocalServer: LocalServerDeclaration = {
  start: startLocalEtcd,
  describe: (spec: StoreSpec) => describeLocalBinary(() => etcdBinary(spec as EtcdStoreSpec), 'started on a data dir that etcdctl snapshot restore wrote from the snapshot'),
  tools: async (spec: StoreSpec) => [
    { name: 'etcd', find: () => etcdBinary(spec as EtcdStoreSpec) },
    { name: 'etcdctl', find: () => etcdctlBinary(spec as EtcdStoreSpec), versionArgs: ['version'] },
  ],
};
