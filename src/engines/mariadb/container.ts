import { createHash, randomBytes } from 'node:crypto';
import { generatedSecret, type ContainerServerDeclaration } from '../../runtimes/servers.ts';
import { mariadbServerVersion } from './client.ts';
import { adminAccountSql, clientOptionFile } from './account.ts';
import { containerPhysicalScript, physicalStep } from './physical.ts';
import type { StoreSpecOf } from '../../drill/types.ts';

/** Where the client tools in the container find their option file (MYSQL_HOME). */
const toolHome = '/etc/restoreproof';

/** mysql_native_password's stored form of a password nobody keeps: root exists, but no one can log in with a password. */
function unusablePasswordHash(): string {
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
  return `*${sha1(sha1(randomBytes(32))).toString('hex').toUpperCase()}`;
}

/** Ephemeral: durability buys nothing here and costs restore time. */
const serverArgs = ['--bind-address=0.0.0.0', '--skip-name-resolve', '--local-infile=0', '--innodb-flush-log-at-trx-commit=0', '--skip-log-bin', '--innodb-doublewrite=0'];

/**
 * MariaDB in the official image (or one like it): the entrypoint runs /docker-entrypoint-initdb.d/
 * on the first start, which creates the generated admin; the password is in files written into the
 * container, never in its environment or command line. A physical backup (the first step) is
 * written in before start and prepared into the data dir by the container's command, whose init
 * file creates the admin in the grant tables the backup brought.
 */
export const mariadbContainerServer: ContainerServerDeclaration = {
  image: { latest: 'mariadb:10.11', versioned: 'mariadb:{version}' },
  recipe(request) {
    const user = `restoreproof_${randomBytes(3).toString('hex')}`;
    const password = generatedSecret();
    const spec = request.spec as StoreSpecOf<'mariadb'>;
    const physical = physicalStep(spec, request.artefacts);
    const optionFile = { content: clientOptionFile(user, password, { socket: '/run/mysqld/mysqld.sock' }), target: `${toolHome}/my.cnf`, mode: 0o644 };
    const start = physical
      ? (() => {
          const xbstream = physical.artefact.format === 'mariadb-backup xbstream';
          const source = xbstream ? '/restoreproof/backup.xbstream' : '/restoreproof/backup';
          const initFile = '/restoreproof/admin.sql';
          return {
            env: {},
            command: ['bash', '-c', containerPhysicalScript({ source, xbstream, gzip: physical.artefact.info.compression === 'gzip', initFile, serverArgs: ['--socket=/run/mysqld/mysqld.sock', ...serverArgs] }), 'restoreproof-physical', physical.ref],
            ...(xbstream ? { files: [{ source: physical.artefact.info.path, target: source }] } : { directories: [{ source: physical.artefact.info.path, target: source }] }),
            contents: [{ content: adminAccountSql(user, password), target: initFile, mode: 0o644 }, optionFile],
          };
        })()
      : {
          env: { MARIADB_ROOT_PASSWORD_HASH: unusablePasswordHash() },
          command: ['mariadbd', ...serverArgs],
          contents: [{ content: adminAccountSql(user, password), target: '/docker-entrypoint-initdb.d/restoreproof-admin.sql', mode: 0o644 }, optionFile],
        };
    return {
      port: 3306, user, password,
      ...start,
      tools: ['mariadb', ...(spec.restore.some((s) => s.binlogs) ? ['mariadb-binlog', 'bash'] : [])], toolEnv: { MYSQL_HOME: toolHome },
      probe: mariadbServerVersion,
      url: (e, database) => `mysql://${user}:${encodeURIComponent(password)}@${e.host}:${e.port}/${database ? encodeURIComponent(database) : ''}`,
      toolUrl: (database) => `mysql://${user}@localhost/${database ? encodeURIComponent(database) : ''}?socket=/run/mysqld/mysqld.sock`,
      help: (e, id) => [
        `${request.storeName}: mysql://${user}@${e.host}:${e.port}/  (container ${id.slice(0, 12)})`,
        `  password: generated and not printed; docker exec -it -e MYSQL_HOME=${toolHome} ${id.slice(0, 12)} mariadb`,
      ],
    };
  },
};
