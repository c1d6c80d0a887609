// The reference drills and how to make each one's backups, for what runs them all (the mutation
// bench). A drill's secrets are read from the process environment, as in CI: `env` holds them
// beside the variable naming the backups, and the caller puts them there.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { repoRoot } from '../lib/restoreproof-cli.ts';
import { makeAlexandriaScenario } from './alexandria.ts';
import { makeClusterScenario } from './cluster.ts';
import { makeGitguardianScenario } from './gitguardian.ts';
import { makeGocdnextScenario } from './gocdnext.ts';
import { makeNextcloudScenario } from './nextcloud.ts';
import { makeOpencrvsScenario } from './opencrvs.ts';
import { makePlexicusScenario } from './plexicus.ts';

export interface ReferenceDrill {
  /** drills/examples/<name>.yaml */
  drill: string;
  /** Makes good backups under `out`; returns the environment a run of the drill needs. */
  make(out: string): Promise<Record<string, string>>;
}

const example = (name: string) => join(repoRoot, 'drills/examples', `${name}.yaml`);

export const referenceDrills: Record<string, ReferenceDrill> = {
  alexandria: {
    drill: example('alexandria'),
    async make(out) {
      const auditKey = randomBytes(24).toString('hex');
      return { ALEXANDRIA_BACKUPS: (await makeAlexandriaScenario({ out, auditKey })).dir, ALEXANDRIA_AUDIT_KEY: auditKey };
    },
  },
  cluster: { drill: example('cluster'), make: async (out) => ({ CLUSTER_BACKUPS: (await makeClusterScenario({ out })).dir }) },
  gitguardian: { drill: example('gitguardian'), make: async (out) => ({ GITGUARDIAN_BACKUPS: (await makeGitguardianScenario({ out })).dir }) },
  gocdnext: {
    drill: example('gocdnext'),
    async make(out) {
      const secretKey = randomBytes(32);
      return { GOCDNEXT_BACKUPS: (await makeGocdnextScenario({ out, secretKey })).dir, GOCDNEXT_SECRET_KEY: secretKey.toString('base64') };
    },
  },
  nextcloud: { drill: example('nextcloud'), make: async (out) => ({ NEXTCLOUD_BACKUPS: (await makeNextcloudScenario({ out })).dir }) },
  opencrvs: {
    drill: example('opencrvs'),
    async make(out) {
      const passphrase = randomBytes(16).toString('hex');
      return { OPENCRVS_BACKUPS: (await makeOpencrvsScenario({ out, passphrase })).dir, OPENCRVS_BACKUP_PASSPHRASE: passphrase };
    },
  },
  plexicus: { drill: example('plexicus'), make: async (out) => ({ PLEXICUS_BACKUPS: (await makePlexicusScenario({ out })).dir }) },
};
