import type pg from 'pg';
import { sha256 } from '../../util/hash.ts';
import type { SchemaFingerprint } from '../../checks/compare-schema.ts';

const userSchemas = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`;

/** Ordinary and partitioned tables (partitions are counted through their parent). Keys are `format('%I.%I')`. */
export async function listTables(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ key: string }>(
    `select format('%I.%I', n.nspname, c.relname) as key
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition and ${userSchemas}
      order by 1`,
  );
  return rows.map((r) => r.key);
}

/** Exact row counts; the caller decides the transaction (a snapshot for baselines). */
export async function countTables(client: pg.ClientBase, keys: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const key of keys) {
    // key comes from format('%I.%I'), so it is already a safely quoted identifier.
    const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${key}`);
    counts[key] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/**
 * A canonical, sorted description of the schema: tables, columns with types, nullability and
 * defaults, indexes and constraints. Owners and privileges are left out: restores drop them.
 */
export async function schemaFingerprint(client: pg.ClientBase): Promise<SchemaFingerprint> {
  const { rows } = await client.query<{ line: string }>(
    `select 'table ' || format('%I.%I', n.nspname, c.relname) as line
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and ${userSchemas}
     union all
     select 'column ' || format('%I.%I.%I', n.nspname, c.relname, a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
            || case when a.attnotnull then ' not null' else '' end
            || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped and ${userSchemas}
     union all
     select 'index ' || format('%I.%I', n.nspname, i.relname) || ': ' || pg_get_indexdef(i.oid)
       from pg_index x
       join pg_class i on i.oid = x.indexrelid
       join pg_namespace n on n.oid = i.relnamespace
      where ${userSchemas}
     union all
     select 'constraint ' || format('%I.%I.%I', n.nspname, c.relname, k.conname) || ': ' || pg_get_constraintdef(k.oid)
       from pg_constraint k
       join pg_class c on c.oid = k.conrelid
       join pg_namespace n on n.oid = c.relnamespace
      where ${userSchemas}
     order by 1`,
  );
  const objects = rows.map((r) => r.line);
  return { sha256: sha256(objects.join('\n')), objects };
}
