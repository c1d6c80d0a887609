import { errorMessage } from '../../errors.ts';
import type { ResourceRecord } from '../types.ts';
import { docker, engineError, LABEL_RUN, runLabels } from './docker.ts';

/**
 * The one bridge network of a run, shared by its stores (each reachable by its store name as
 * alias). Reference-counted: created by the first store, removed with a final sweep of the run's
 * containers when the last store lets go of it (a kept store never does).
 */
export class RunNetwork {
  readonly name: string;
  readonly record: ResourceRecord;
  private readonly runId: string;
  private readonly drillName: string;
  private refs = 0;
  private created: Promise<string> | undefined;
  private recordClaimed = false;

  constructor(runId: string, drillName: string) {
    this.runId = runId;
    this.drillName = drillName;
    this.name = `restoreproof-${runId}`;
    this.record = { kind: 'network', id: this.name };
  }

  /** Takes a reference and returns the network id, creating the network on first use. */
  async acquire(): Promise<string> {
    this.refs++;
    this.created ??= (async () => {
      try {
        const network = await docker().createNetwork({ Name: this.name, Driver: 'bridge', CheckDuplicate: true, Labels: runLabels(this.runId, this.drillName) });
        this.record.id = `${this.name} (${network.id.slice(0, 12)})`;
        return network.id;
      } catch (err) {
        throw engineError(err, `creating network ${this.name}`);
      }
    })();
    return this.created;
  }

  /** `acquire`, giving the reference back when the network cannot be created. */
  async join(): Promise<string> {
    try {
      return await this.acquire();
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  /** The network's record goes to the first store's resources only, so it is reported once. */
  claimRecord(): ResourceRecord | undefined {
    if (this.recordClaimed) return undefined;
    this.recordClaimed = true;
    return this.record;
  }

  async release(): Promise<void> {
    if (--this.refs > 0 || !this.created) return;
    const id = await this.created.catch(() => undefined);
    if (!id) return;
    // Anything of this run that a failed or interrupted start left behind goes first.
    try {
      const leftovers = await docker().listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${this.runId}`] } });
      await Promise.all(leftovers.map((c) => docker().getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
      await docker().getNetwork(id).remove();
      this.record.removed = true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) this.record.removed = true;
      else Object.assign(this.record, { removed: false, error: errorMessage(err) });
    }
  }
}

const networks = new Map<string, RunNetwork>();

export function runNetwork(runId: string, drillName: string): RunNetwork {
  let network = networks.get(runId);
  if (!network) {
    network = new RunNetwork(runId, drillName);
    networks.set(runId, network);
  }
  return network;
}
