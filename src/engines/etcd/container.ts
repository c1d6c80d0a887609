import { RestoreproofError } from '../../errors.ts';
import type { ContainerServerDeclaration } from '../../runtimes/servers.ts';
import { etcdServerVersion } from './client.ts';
import { restoreArgs, serverArgs, type Member } from './member.ts';

const snapshotPath = '/restoreproof/snapshot.db';
// Under /tmp: writable whichever user the image runs as.
const member: Member = { dataDir: '/tmp/restoreproof-etcd', client: 'http://0.0.0.0:2379', peer: 'http://127.0.0.1:2380', token: 'restoreproof' };
const quote = (args: string[]) => args.map((a) => `'${a}'`).join(' ');

/**
 * etcd in a container: the snapshot is written in before start, and the container's command restores
 * it into a fresh data dir (etcdutl on 3.5+, else etcdctl) and then runs etcd on it. A failed restore
 * ends the container, so the store never answers its probe.
 */
export const etcdContainerServer: ContainerServerDeclaration = {
  image: { latest: 'bitnami/etcd:latest', versioned: 'bitnami/etcd:{version}' },
  recipe(request) {
    const artefact = request.artefacts?.[0];
    if (!artefact) throw new RestoreproofError('E_PROVISION', `store ${request.storeName}: etcd needs its snapshot before it starts`);
    const script = [
      'set -e',
      'if command -v etcdutl >/dev/null 2>&1; then restore=etcdutl; else restore=etcdctl; fi',
      `"$restore" ${quote(restoreArgs(snapshotPath, member))}`,
      `exec etcd ${quote(serverArgs(member, 'http://127.0.0.1:2379'))}`,
    ].join('\n');
    return {
      port: 2379, user: '', password: '', env: { ETCDCTL_API: '3' },
      command: ['sh', '-c', script],
      files: [{ source: artefact.info.path, target: snapshotPath }],
      tools: [], toolEnv: { ETCDCTL_API: '3' },
      probe: etcdServerVersion,
      url: (e) => `http://${e.host}:${e.port}`,
      toolUrl: () => 'http://127.0.0.1:2379',
      help: (e, id) => [`${request.storeName}: http://${e.host}:${e.port}  (docker exec -it ${id.slice(0, 12)} etcdctl get --prefix / --keys-only)`],
    };
  },
};
