import { createHash, randomBytes } from 'node:crypto';
import { generatedSecret, type ContainerServerDeclaration } from '../../runtimes/servers.ts';
import { mariadbServerVersion } from './client.ts';
import { adminAccountSql, clientOptionFile } from './account.ts';

/** Where the client tools in the container find their option file (MYSQL_HOME). */
const toolHome = '/etc/restoreproof';

/** mysql_native_password's stored form of a password nobody keeps: root exists, but no one can log in with a password. */
function unusablePasswordHash(): string {
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
  return `*${sha1(sha1(randomBytes(32))).toString('hex').toUpperCase()}`;
}

/**
 * MariaDB in the official image (or one like it): the entrypoint runs /docker-entrypoint-initdb.d/
 * on the first start, which creates the generated admin; the password is in files written into the
 * container, never in its environment or command line.
 */
export const mariadbContainerServer: ContainerServerDeclaration = {
  image: { latest: 'mariadb:10.11', versioned: 'mariadb:{version}' },
  recipe(request) {
    const user = `restoreproof_${randomBytes(3).toString('hex')}`;
    const password = generatedSecret();
    return {
      port: 3306, user, password,
      env: { MARIADB_ROOT_PASSWORD_HASH: unusablePasswordHash() },
      command: [
        'mariadbd', '--bind-address=0.0.0.0', '--skip-name-resolve', '--local-infile=0',
        // Ephemeral: durability buys nothing here and costs restore time.
        '--innodb-flush-log-at-trx-commit=0', '--skip-log-bin', '--innodb-doublewrite=0',
      ],
      contents: [
        { content: adminAccountSql(user, password), target: '/docker-entrypoint-initdb.d/restoreproof-admin.sql', mode: 0o644 },
        { content: clientOptionFile(user, password, { socket: '/run/mysqld/mysqld.sock' }), target: `${toolHome}/my.cnf`, mode: 0o644 },
      ],
      tools: ['mariadb'], toolEnv: { MYSQL_HOME: toolHome },
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
