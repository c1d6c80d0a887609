/** The one member a restored snapshot becomes, on the local runtime and in a container alike. */
export const memberName = 'restoreproof';

export interface Member {
  dataDir: string;
  /** Where clients connect (the URL etcd listens on). */
  client: string;
  peer: string;
  token: string;
}

const cluster = (m: Member) => ['--initial-cluster', `${memberName}=${m.peer}`, '--initial-advertise-peer-urls', m.peer];

/** `etcdctl snapshot restore` (or `etcdutl` on 3.5+, same flags): a fresh data dir for one member, the snapshot only read. */
export const restoreArgs = (snapshot: string, m: Member) => ['snapshot', 'restore', snapshot, '--data-dir', m.dataDir, '--name', memberName, ...cluster(m), '--initial-cluster-token', m.token];

/** etcd on the restored data dir; `advertise` is the client URL it names to clients. */
export const serverArgs = (m: Member, advertise: string) => [
  '--name', memberName, '--data-dir', m.dataDir, '--listen-client-urls', m.client, '--advertise-client-urls', advertise,
  '--listen-peer-urls', m.peer, ...cluster(m),
];
