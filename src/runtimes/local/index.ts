import { tmpdir } from 'node:os';
import type { EngineName } from '../../drill/types.ts';
import type { ProvisionRequest, Runtime, StartedStore } from '../types.ts';
import { runLocalAppTask, startLocalApp } from './app.ts';
import { minioBinary, startLocalMinio } from './minio.ts';
import { mongoServerBinary, startLocalMongo } from './mongodb.ts';
import { describeLocalPostgres, startLocalPostgres } from './postgres.ts';
import { redisServerBinary, startLocalRedis } from './redis.ts';
import { influxdBinary, startLocalInflux } from './influxdb.ts';

const starters: Record<EngineName, (request: ProvisionRequest) => Promise<StartedStore>> = {
  postgres: startLocalPostgres,
  mongodb: startLocalMongo,
  s3: startLocalMinio,
  redis: startLocalRedis,
  influxdb: startLocalInflux,
};

/** Stores as server processes started from binaries installed on this machine. */
export const localRuntime: Runtime = {
  name: 'local',
  engines: ['postgres', 'mongodb', 's3', 'redis', 'influxdb'],
  async describeProvision({ spec }) {
    const where = `temp dir ${tmpdir()}/restoreproof-<run-id>-<store>-*, a free 127.0.0.1 port`;
    const binary = async (find: () => Promise<string>) => find().then((b) => `${b} in ${where}`, (err: Error) => `!! ${err.message}`);
    switch (spec.engine) {
      case 'postgres':
        return describeLocalPostgres(spec);
      case 'mongodb':
        return [await binary(() => mongoServerBinary(spec))];
      case 's3':
        return [`${await binary(() => minioBinary(spec))}, generated root credentials`];
      case 'redis':
        return [`${await binary(() => redisServerBinary(spec))}, generated password, started on a copy of the snapshot`];
      case 'influxdb':
        return [`${await binary(() => influxdBinary(spec))}, generated config and admin password`];
    }
  },
  // freePort() closes its probe before the server binds; another process can take the port in
  // between. A server that lost it exits at once, so start it again on a new port, once.
  provision: async (request) => {
    try {
      return await starters[request.spec.engine](request);
    } catch (err) {
      if (!/address already in use|EADDRINUSE|could not bind|bind: /i.test(String((err as Error).message))) throw err;
      return starters[request.spec.engine](request);
    }
  },
  startApp: startLocalApp,
  runAppTask: runLocalAppTask,
};
