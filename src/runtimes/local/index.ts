import type { Runtime } from '../types.ts';
import { describeLocalPostgres, startLocalPostgres } from './postgres.ts';

/** Stores as server processes started from binaries installed on this machine. */
export const localRuntime: Runtime = {
  name: 'local',
  engines: ['postgres'],
  async describeProvision(request) {
    return describeLocalPostgres(request.spec);
  },
  async provision(request) {
    return startLocalPostgres(request);
  },
};
