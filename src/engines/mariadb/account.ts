import { quoteString } from './client.ts';

/**
 * The harness's own account on a store's server: a per-server name no backup can know, from
 * anywhere ('%': the published port of a container), with every privilege.
 */
export function adminAccountSql(user: string, password: string): string {
  const account = `${quoteString(user)}@'%'`;
  return `CREATE OR REPLACE USER ${account} IDENTIFIED BY ${quoteString(password)};\nGRANT ALL PRIVILEGES ON *.* TO ${account} WITH GRANT OPTION;\n`;
}

/**
 * Sent after a dump, in the same client session: an --all-databases dump replaces mysql.global_priv
 * (or drops and creates users), and a FLUSH PRIVILEGES would lock the harness out for its checks.
 * The session keeps the privileges it connected with, so it reloads the grant tables and puts the
 * account back last. `DELIMITER ;` first: a dump cut inside a routine must not swallow these lines.
 */
export function restoreAdminSql(user: string, password: string): string {
  return `\nDELIMITER ;\nFLUSH PRIVILEGES;\n${adminAccountSql(user, password)}`;
}

/** The [client] option file the client tools read through MYSQL_HOME: the password stays out of argv and env. */
export function clientOptionFile(user: string, password: string, where: { host: string; port: number } | { socket: string }): string {
  const address = 'socket' in where ? [`socket=${where.socket}`] : [`host=${where.host}`, `port=${where.port}`, 'protocol=tcp'];
  return ['[client]', `user=${user}`, `password=${password}`, ...address, ''].join('\n');
}
