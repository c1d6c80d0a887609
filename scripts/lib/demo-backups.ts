// Seeds a small shop database into an ephemeral PostgreSQL and backs it up with the real pg_dump,
// the way the demo drill and the tests expect. Nothing here is hand-made binary data.
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { capturePostgresBaseline } from '../../src/engines/postgres/baseline.ts';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import { newRunId } from '../../src/run/identity.ts';

export interface DemoBackups {
  dir: string;
  shopDump: string;
  analyticsSqlGz: string;
  baseline: string;
  counts: Record<string, number>;
}

export const demoSchema = `
  create table customers (id serial primary key, email text not null unique, created_at timestamptz not null default now());
  create table orders (
    id serial primary key,
    customer_id int not null references customers(id),
    total numeric(10,2) not null check (total >= 0),
    status text not null check (status in ('new', 'paid', 'shipped')),
    created_at timestamptz not null
  );
  create index orders_customer_idx on orders(customer_id);
  create schema billing;
  create table billing."Invoice Lines" (id bigserial primary key, order_id int not null references orders(id), amount numeric(10,2) not null);
`;

export async function makeDemoBackups(dir: string, options: { scale?: number } = {}): Promise<DemoBackups> {
  const scale = options.scale ?? 1;
  await mkdir(dir, { recursive: true });
  const controller = new AbortController();
  const store = await startLocalPostgres({ runId: `${newRunId()}-seed`, drillName: 'demo-seed', storeName: 'source', spec: { engine: 'postgres', restore: [] }, drillDir: dir, signal: controller.signal });
  try {
    const admin = new pg.Client({ ...store.endpoint, database: 'postgres' });
    await admin.connect();
    await admin.query('create database shop');
    await admin.query('create database analytics');
    await admin.end();

    const shop = new pg.Client({ ...store.endpoint, database: 'shop' });
    await shop.connect();
    await shop.query(demoSchema);
    const customers = 500 * scale;
    const orders = 2000 * scale;
    await shop.query(`insert into customers (email, created_at) select 'customer' || g || '@example.com', timestamptz '2026-01-01' + g * interval '1 minute' from generate_series(1, $1) g`, [customers]);
    await shop.query(
      `insert into orders (customer_id, total, status, created_at)
       select 1 + (g * 7) % $2, (g % 500) + 0.99, (array['new','paid','shipped'])[1 + g % 3], timestamptz '2026-02-01' + g * interval '1 minute'
         from generate_series(1, $1) g`,
      [orders, customers],
    );
    await shop.query(`insert into billing."Invoice Lines" (order_id, amount) select 1 + g % $1, (g % 97) + 0.5 from generate_series(1, $2) g`, [orders, orders * 2]);
    await shop.end();

    const analytics = new pg.Client({ ...store.endpoint, database: 'analytics' });
    await analytics.connect();
    await analytics.query(`create table events (id bigserial primary key, kind text not null, at timestamptz not null)`);
    await analytics.query(`insert into events (kind, at) select (array['view','click','buy'])[1 + g % 3], timestamptz '2026-03-01' + g * interval '1 second' from generate_series(1, $1) g`, [1000 * scale]);
    await analytics.end();

    const shopDump = join(dir, 'shop.dump');
    const dump = await store.exec('pg_dump', ['--format=custom', '--compress=9', '--dbname', 'shop', '--file', shopDump]);
    if (dump.exitCode !== 0) throw new Error(`pg_dump shop failed: ${dump.stderr}`);

    const plainPath = join(dir, 'analytics.sql');
    const plain = await store.exec('pg_dump', ['--format=plain', '--no-owner', '--no-privileges', '--dbname', 'analytics', '--file', plainPath]);
    if (plain.exitCode !== 0) throw new Error(`pg_dump analytics failed: ${plain.stderr}`);
    const analyticsSqlGz = join(dir, 'analytics.sql.gz');
    const { createReadStream } = await import('node:fs');
    await pipeline(createReadStream(plainPath), createGzip(), createWriteStream(analyticsSqlGz));
    await rm(plainPath);

    const { host, port, user, password } = store.endpoint;
    const captured = await capturePostgresBaseline({ connectionString: `postgres://${user}@${host}:${port}/shop`, password, databases: ['shop', 'analytics'] });
    const baseline = join(dir, 'baseline.json');
    await writeFile(baseline, `${JSON.stringify({ ...captured, store: 'app' }, null, 2)}\n`);
    return { dir, shopDump, analyticsSqlGz, baseline, counts: { ...captured.databases.shop!.tables, ...captured.databases.analytics!.tables } };
  } finally {
    await store.stop();
  }
}
