// Network isolation on the containers runtime, against the test bed's Docker engine: the run's
// network is internal unless the drill asks for egress. The outside target is a listener container
// of this test on a network of its own, published on the engine host's address: a container of an
// ordinary network reaches it (the positive control, with spec.network.egress), a store or the app
// on an internal run network does not, while the harness still reaches both at their addresses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { containersRuntime } from '../../src/runtimes/containers/index.ts';
import type { StartedApp, StartedStore } from '../../src/runtimes/types.ts';
import { assertQueryAnswers, bareStoreSpec, echoAppSpec, firstLine, listenerScript } from '../support/network.ts';
import { repoRoot, requireBackends, testbedImageEnv, useTestbedBinaries, useTestbedImages } from '../support/backends.ts';

function docker(args: string[]): string {
  // Bounded: a docker CLI that hangs must fail the test, not stall the suite.
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...testbedImageEnv() }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** bash's /dev/tcp in the container: 0 connected, 1 refused or unreachable, 124 no answer within 4 s; with bash's complaint. */
function connectFrom(container: string, host: string, port: number, user?: string): { code: number; stderr: string } {
  try {
    docker(['exec', ...(user ? ['-u', user] : []), container, 'timeout', '4', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', host, String(port)]);
    return { code: 0, stderr: '' };
  } catch (err) {
    const { status, stderr } = err as { status?: number; stderr?: string };
    assert.ok(status === 1 || status === 124, `probe in ${container} to ${host}:${port} did not run: ${stderr ?? err}`);
    return { code: status!, stderr: stderr ?? '' };
  }
}

/** Asserts that the probe connects, or (reached: false) that it does not. */
function assertReach(container: string, host: string, port: number, reached: boolean, what: string, user?: string): void {
  const { code, stderr } = connectFrom(container, host, port, user);
  assert.equal(code === 0, reached, `${what} (${host}:${port}): exit ${code} ${stderr.trim()}`);
}

describe('containers runtime: the run network is internal unless the drill asks for egress', function () {
  const tag = randomBytes(3).toString('hex');
  const outsideNetwork = `rp-test-outside-${tag}`;
  const listener = `rp-test-listener-${tag}`;
  const signal = new AbortController().signal;
  let restoreEnv: (() => void) | undefined;
  let target: { host: string; port: number };
  const started: { stop(): Promise<void> }[] = [];

  const provision = async (runId: string, egress: boolean): Promise<StartedStore> => {
    const store = await containersRuntime.provision({ runId, drillName: 'isolation', storeName: 'db', spec: bareStoreSpec, drillDir: repoRoot, signal, egress });
    started.push(store);
    return store;
  };
  const containerOf = (store: StartedStore) => store.resources.find((r) => r.kind === 'container')!.id;
  const runNetworkOf = (runId: string) => JSON.parse(docker(['network', 'inspect', `restoreproof-${runId}`]))[0] as { Internal: boolean };

  before(async function () {
    requireBackends(this, 'docker', 'postgres');
    useTestbedBinaries();
    restoreEnv = useTestbedImages();
    docker(['network', 'create', '--label', 'restoreproof.test=isolation', outsideNetwork]);
    docker(['run', '-d', '--name', listener, '--label', 'restoreproof.test=isolation', '--network', outsideNetwork, '-p', '0.0.0.0::7777',
      testbedImageEnv().RESTOREPROOF_IMAGE_APP!, 'node', '-e', listenerScript('pong', '7777')]);
    const gateway = JSON.parse(docker(['network', 'inspect', outsideNetwork]))[0].IPAM.Config[0].Gateway as string;
    const port = Number(docker(['port', listener, '7777/tcp']).split('\n')[0]!.split(':').pop());
    target = { host: gateway, port };
    // The listener answers from here (the harness's side) before anything is asserted about it.
    for (let i = 0; i < 40 && (await firstLine(target.host, target.port).catch(() => '')) !== 'pong'; i++) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await firstLine(target.host, target.port), 'pong');
  });

  after(async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    for (const args of [['rm', '-f', listener], ['network', 'rm', outsideNetwork]]) {
      try {
        docker(args);
      } catch {
        // already gone
      }
    }
    restoreEnv?.();
  });

  it('positive control: with spec.network.egress a store reaches the outside listener', async () => {
    const runId = `isolation-${tag}-a`;
    const store = await provision(runId, true);
    assert.equal(runNetworkOf(runId).Internal, false);
    assertReach(containerOf(store), target.host, target.port, true, 'a store on a network with egress to the outside listener', 'postgres');
  });

  it('by default a store cannot reach it, and the harness still reaches the store at its address on the run network', async () => {
    const runId = `isolation-${tag}-b`;
    const store = await provision(runId, false);
    assert.equal(runNetworkOf(runId).Internal, true);
    assert.match(store.resources.find((r) => r.kind === 'network')!.id, /internal: no egress/);
    const container = containerOf(store);
    assertReach(container, '127.0.0.1', 5432, true, 'the store container to its own server (the probe works)', 'postgres');
    assertReach(container, target.host, target.port, false, 'a store on the internal run network to the outside listener', 'postgres');
    assert.match(Object.values(store.resources.find((r) => r.kind === 'container')!.ports ?? {})[0] ?? '', /^\d+\.\d+\.\d+\.\d+:5432 \(internal run network\)$/);
    await assertQueryAnswers(store.url());
  });

  it('the app on the internal run network reaches its store by name, not the outside; the harness reaches the app', async () => {
    const runId = `isolation-${tag}-c`;
    await provision(runId, false);
    const app: StartedApp = await containersRuntime.startApp!({
      runId, drillName: 'isolation', drillDir: repoRoot, signal, egress: false,
      spec: echoAppSpec,
      env: async () => ({}),
    });
    started.push(app);
    const container = app.resources.find((r) => r.kind === 'container')!.id;
    assertReach(container, 'db', 5432, true, 'the app to its store');
    assertReach(container, target.host, target.port, false, 'the app on the internal run network to the outside listener');
    const { hostname, port } = new URL(app.baseUrl);
    assert.equal(await firstLine(hostname, Number(port)), 'ok');
  });
});
