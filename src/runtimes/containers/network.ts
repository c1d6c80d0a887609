import { ExitCode, RestoreproofError, errorMessage } from '../../errors.ts';
import type { ResourceRecord } from '../types.ts';
import { docker, dockerHost, engineError, engineIsLocal } from './docker.ts';
import { LABEL_RUN, runLabels } from '../shared/labels.ts';

/**
 * The one bridge network of a run, shared by its stores (each reachable by its store name as
 * alias). Reference-counted: created by the first store, removed with a final sweep of the run's
 * containers when the last store lets go of it (a kept store never does).
 *
 * Internal unless the drill asks for egress: its containers reach each other and nothing else.
 * Docker publishes no ports from an internal network, so the harness reaches its containers at
 * their addresses on it, which the engine's own host can route to (Linux bridge).
 */
export class RunNetwork {
  readonly name: string;
  readonly record: ResourceRecord;
  /** No egress: Docker's `internal` network. */
  readonly internal: boolean;
  private readonly runId: string;
  private readonly drillName: string;
  private refs = 0;
  private created: Promise<string> | undefined;
  private recordClaimed = false;

  constructor(runId: string, drillName: string, egress: boolean) {
    this.runId = runId;
    this.drillName = drillName;
    this.internal = !egress;
    this.name = `restoreproof-${runId}`;
    this.record = { kind: 'network', id: this.name };
  }

  /** Takes a reference and returns the network id, creating the network on first use. */
  async acquire(): Promise<string> {
    this.refs++;
    this.created ??= (async () => {
      if (this.internal && !engineIsLocal()) {
        throw new RestoreproofError('E_RUNTIME', `the run's network is internal (no egress), and this machine cannot reach containers on an internal network of the Docker engine at ${dockerHost()} (Docker publishes no ports from one)`, {
          hint: 'run restoreproof on the engine\'s host, or set spec.network.egress: true to publish the stores\' ports (they may then reach any address)',
          exitCode: ExitCode.usage,
        });
      }
      try {
        const network = await docker().createNetwork({ Name: this.name, Driver: 'bridge', Internal: this.internal, CheckDuplicate: true, Labels: runLabels(this.runId, this.drillName) });
        this.record.id = `${this.name} (${network.id.slice(0, 12)}, ${this.internal ? 'internal: no egress' : 'egress allowed by spec.network.egress'})`;
        return network.id;
      } catch (err) {
        throw engineError(err, `creating network ${this.name}`);
      }
    })();
    return this.created;
  }

  /** A container's address on this network (empty until it is attached). */
  addressOf(info: { NetworkSettings: { Networks: Record<string, { IPAddress?: string }> } }): string {
    return info.NetworkSettings.Networks[this.name]?.IPAddress ?? '';
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

/** The run's network; `egress` (spec.network.egress) decides, at its creation, whether it is internal. */
export function runNetwork(runId: string, drillName: string, egress = false): RunNetwork {
  let network = networks.get(runId);
  if (!network) {
    network = new RunNetwork(runId, drillName, egress);
    networks.set(runId, network);
  }
  return network;
}
