// Scenario: Nextcloud with S3 primary object storage. The file metadata lives in MariaDB
// (oc_filecache maps each fileid to its storage, path, size and checksum); the file bytes live in
// a bucket under `urn:oid:<fileid>`, as Nextcloud's S3 object store writes them, so neither is
// usable without the other. The runbook: maintenance mode on, `mariadb-dump --single-transaction
// --default-character-set=utf8mb4 nextcloud > nextcloud-sqlbkp_<date>.bak`, the bucket mirrored with
// `mc mirror` into the same dated folder, and the baseline read from the source at the same moment.
//
//   node scripts/scenarios/nextcloud.ts --out <dir> [--scale N] [--damage filecache-rows-missing]
//
// The twin's backup script treats oc_filecache as "just a cache": its data is left out of the dump
// (--ignore-table, then the table's structure alone with --no-data). With object storage that
// table is the only map from urn:oid keys to files.
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { newRunId } from '../../src/run/identity.ts';
import { startLocalMariadb } from '../../src/engines/mariadb/local.ts';
import { withMariadb } from '../../src/engines/mariadb/client.ts';
import { startLocalMinio } from '../../src/engines/s3/local.ts';
import { listAll, s3Client } from '../../src/engines/s3/client.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { repoRoot, restoreproofCli } from '../lib/restoreproof-cli.ts';

export type NextcloudDamage = 'filecache-rows-missing';

export interface NextcloudOptions {
  out: string;
  scale?: number;
  damage?: NextcloudDamage;
  /** Backup date folder, YYYYMMDD. */
  date?: string;
}


export const nextcloudBucket = 'nextcloud';
const directory = 'httpd/unix-directory';

// The tables a Nextcloud 28 install creates for these, trimmed to the columns and indexes that
// matter here (same names, types and collation: utf8mb4_bin, as its installer sets for MariaDB).
const tables = [
  `CREATE TABLE oc_storages (numeric_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, id VARCHAR(64) DEFAULT NULL, available INT NOT NULL DEFAULT 1, last_checked INT DEFAULT NULL,
     PRIMARY KEY (numeric_id), UNIQUE KEY storages_id_index (id))`,
  `CREATE TABLE oc_mimetypes (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, mimetype VARCHAR(255) NOT NULL DEFAULT '', PRIMARY KEY (id), UNIQUE KEY mimetype_id_index (mimetype))`,
  `CREATE TABLE oc_filecache (fileid BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, storage BIGINT UNSIGNED NOT NULL DEFAULT 0, path VARCHAR(4000) DEFAULT NULL,
     path_hash VARCHAR(32) NOT NULL DEFAULT '', parent BIGINT NOT NULL DEFAULT 0, name VARCHAR(250) DEFAULT NULL, mimetype BIGINT UNSIGNED NOT NULL DEFAULT 0,
     mimepart BIGINT UNSIGNED NOT NULL DEFAULT 0, size BIGINT NOT NULL DEFAULT 0, mtime BIGINT UNSIGNED NOT NULL DEFAULT 0, storage_mtime BIGINT UNSIGNED NOT NULL DEFAULT 0,
     encrypted INT NOT NULL DEFAULT 0, unencrypted_size BIGINT NOT NULL DEFAULT 0, etag VARCHAR(40) DEFAULT NULL, permissions INT DEFAULT 0, checksum VARCHAR(255) DEFAULT NULL,
     PRIMARY KEY (fileid), UNIQUE KEY fs_storage_path_hash (storage, path_hash), KEY fs_parent_name_hash (parent, name(64)), KEY fs_storage_mimetype (storage, mimetype),
     KEY fs_storage_size (storage, size, fileid), KEY fs_mtime (mtime), KEY fs_storage_path_prefix (storage, path(64)))`,
  `CREATE TABLE oc_users (uid VARCHAR(64) NOT NULL DEFAULT '', displayname VARCHAR(64) DEFAULT NULL, password VARCHAR(255) NOT NULL DEFAULT '', uid_lower VARCHAR(64) DEFAULT '',
     PRIMARY KEY (uid), KEY user_uid_lower (uid_lower))`,
  `CREATE TABLE oc_accounts (uid VARCHAR(64) NOT NULL DEFAULT '', data LONGTEXT NOT NULL, PRIMARY KEY (uid))`,
  `CREATE TABLE oc_share (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, share_type SMALLINT NOT NULL DEFAULT 0, share_with VARCHAR(255) DEFAULT NULL, uid_owner VARCHAR(64) NOT NULL DEFAULT '',
     uid_initiator VARCHAR(64) DEFAULT NULL, parent BIGINT DEFAULT NULL, item_type VARCHAR(64) NOT NULL DEFAULT '', item_source VARCHAR(255) DEFAULT NULL,
     file_source BIGINT DEFAULT NULL, file_target VARCHAR(4000) DEFAULT NULL, permissions SMALLINT NOT NULL DEFAULT 0, stime BIGINT NOT NULL DEFAULT 0,
     accepted SMALLINT NOT NULL DEFAULT 0, expiration DATETIME DEFAULT NULL, token VARCHAR(32) DEFAULT NULL,
     PRIMARY KEY (id), KEY item_share_type_index (item_type, share_type), KEY file_source_index (file_source), KEY token_index (token), KEY share_with_index (share_with), KEY owner_index (uid_owner))`,
  `CREATE TABLE oc_appconfig (appid VARCHAR(32) NOT NULL DEFAULT '', configkey VARCHAR(64) NOT NULL DEFAULT '', configvalue LONGTEXT DEFAULT NULL, PRIMARY KEY (appid, configkey))`,
].map((sql) => `${sql.replace(/\s+/g, ' ')} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An oc_filecache row before its fileid is known; the parent is named by its path. */
interface Entry { storage: number; path: string; parentPath?: string; name: string; mimetype: string; mtime: number; body?: Buffer }

/** One user's home: the root, files/, two folders and their files (bytes only for files). */
function home(storage: number, uid: string, files: number, at: number): Entry[] {
  const entries: Entry[] = [
    { storage, path: '', name: '', mimetype: directory, mtime: at },
    { storage, path: 'files', name: 'files', mimetype: directory, mtime: at, parentPath: '' },
    { storage, path: 'files/Documents', name: 'Documents', mimetype: directory, mtime: at, parentPath: 'files' },
    { storage, path: 'files/Photos', name: 'Photos', mimetype: directory, mtime: at, parentPath: 'files' },
  ];
  for (let i = 0; i < files; i++) {
    const photo = i % 3 === 2;
    const name = photo ? `IMG_${String(1000 + i)}.jpg` : i % 3 === 1 ? `Report ${2026 - Math.floor(i / 3)}.md` : `notes-${i}.txt`;
    const folder = photo ? 'files/Photos' : 'files/Documents';
    // Photos: binary bytes from a hash chain; documents: text that names its owner.
    const body = photo
      ? Buffer.concat(Array.from({ length: 4 + (i % 5) }, (_, k) => createHash('sha512').update(`${uid}/${i}/${k}`).digest()))
      : Buffer.from(`# ${name}\n\nOwned by ${uid}. ${'Lorem ipsum dolor sit amet. '.repeat(1 + (i % 7))}\n`);
    entries.push({ storage, path: `${folder}/${name}`, name, mimetype: photo ? 'image/jpeg' : name.endsWith('.md') ? 'text/markdown' : 'text/plain', body, mtime: at + 60 * i, parentPath: folder });
  }
  return entries;
}

export async function makeNextcloudScenario(options: NextcloudOptions) {
  const scale = options.scale ?? 1;
  const date = options.date ?? '20261120';
  const day = join(options.out, date);
  await rm(options.out, { recursive: true, force: true });
  await mkdir(day, { recursive: true });
  const signal = new AbortController().signal;
  const runId = `${newRunId()}-scenario`;
  const source = (storeName: string, engine: 'mariadb' | 's3') => ({ runId, drillName: 'nextcloud', storeName, spec: { engine, restore: [] } as never, drillDir: day, signal });
  const uids = ['admin', ...Array.from({ length: 11 * scale }, (_, i) => ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory'][i % 11]! + (i >= 11 ? String(Math.floor(i / 11)) : ''))];
  const filesPerUser = 15;
  const at = Date.UTC(2026, 9, 1) / 1000;

  const dumpFile = join(day, `nextcloud-sqlbkp_${date}.bak`);
  const mirror = join(day, 'nextcloud-objects');
  const baseline = join(options.out, 'baseline-nextcloud.json');
  let db: StartedStore | undefined;
  let objectStore: StartedStore | undefined;
  try {
    // One after the other: a failed start leaves nothing the finally block does not know of.
    db = await startLocalMariadb(source('db', 'mariadb'));
    objectStore = await startLocalMinio(source('objectstore', 's3'));
    const s3 = await s3Client(objectStore.endpoint);
    await s3.makeBucket(nextcloudBucket, 'us-east-1');

    const counts = await withMariadb(db.endpoint, 'source', undefined, async (c) => {
      await c.query('CREATE DATABASE nextcloud CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci');
      await c.query('USE nextcloud');
      for (const sql of tables) await c.query(sql);
      await c.query("INSERT INTO oc_appconfig VALUES ('core', 'installedat', '1759280400.1234'), ('core', 'vendor', 'nextcloud'), ('files', 'installed_version', '2.0.0'), ('files_sharing', 'enabled', 'yes')");
      const mimetypes = [directory, 'httpd', 'text/plain', 'text/markdown', 'text', 'image/jpeg', 'image'];
      await c.query('INSERT INTO oc_mimetypes (mimetype) VALUES ?', [mimetypes.map((m) => [m])]);
      const mimeId = (m: string) => mimetypes.indexOf(m) + 1;
      await c.query('INSERT INTO oc_users (uid, displayname, password, uid_lower) VALUES ?', [uids.map((u) => [u, u[0]!.toUpperCase() + u.slice(1), `3|$argon2id$v=19$m=65536,t=4,p=1$${md5(`salt ${u}`)}`, u])]);
      await c.query('INSERT INTO oc_accounts (uid, data) VALUES ?', [uids.map((u) => [u, JSON.stringify({ displayname: { value: u, scope: 'v2-federated', verified: '0' }, email: { value: `${u}@cloud.example`, scope: 'v2-federated', verified: '1' } })])]);
      // Object storage: the instance's root storage (appdata) and one storage per user home.
      await c.query('INSERT INTO oc_storages (id, available) VALUES ?', [[[`object::store:amazon::${nextcloudBucket}`, 1], ...uids.map((u) => [`object::user:${u}`, 1])]]);

      let files = 0;
      let bytes = 0;
      const ids = new Map<string, number>();
      for (const [i, uid] of ['', ...uids].entries()) {
        const storage = i + 1;
        const entries: Entry[] = uid ? home(storage, uid, filesPerUser, at) : [
          { storage, path: '', name: '', mimetype: directory, mtime: at },
          { storage, path: 'appdata_oc1a2b3c4d5e', name: 'appdata_oc1a2b3c4d5e', mimetype: directory, mtime: at, parentPath: '' },
          { storage, path: 'appdata_oc1a2b3c4d5e/theming/logo', name: 'logo', mimetype: 'image/jpeg', mtime: at, parentPath: 'appdata_oc1a2b3c4d5e', body: createHash('sha512').update('logo').digest() },
        ];
        for (const e of entries) {
          const part = e.mimetype === directory ? 'httpd' : e.mimetype.split('/')[0]!;
          const parent = e.parentPath === undefined ? -1 : ids.get(`${storage}/${e.parentPath}`)!;
          const checksum = e.body ? `SHA256:${sha256(e.body)}` : '';
          const [result] = await c.query(
            'INSERT INTO oc_filecache (storage, path, path_hash, parent, name, mimetype, mimepart, size, mtime, storage_mtime, etag, permissions, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [storage, e.path, md5(e.path), parent, e.name, mimeId(e.mimetype), mimeId(part), e.body?.length ?? 0, e.mtime, e.mtime, md5(`etag ${storage}/${e.path}`).slice(0, 13), e.body ? 27 : 31, checksum],
          );
          const fileid = (result as { insertId: number }).insertId;
          ids.set(`${storage}/${e.path}`, fileid);
          if (e.body) {
            // What the S3 object store writes: the bytes under urn:oid:<fileid>, nothing else.
            await s3.putObject(nextcloudBucket, `urn:oid:${fileid}`, e.body, e.body.length);
            files++;
            bytes += e.body.length;
          }
        }
      }
      // Shares: each user shares a document with the next user, and a public link to a photo.
      const shares: unknown[][] = [];
      for (const [i, uid] of uids.entries()) {
        const storage = i + 2;
        const doc = ids.get(`${storage}/files/Documents/notes-0.txt`)!;
        const photo = ids.get(`${storage}/files/Photos/IMG_1002.jpg`)!;
        shares.push([0, uids[(i + 1) % uids.length], uid, uid, 'file', String(doc), doc, '/notes-0.txt', 19, at + 3600 * i, 1, null]);
        shares.push([3, null, uid, uid, 'file', String(photo), photo, '/IMG_1002.jpg', 1, at + 3600 * i + 60, 0, md5(`link ${uid}`).slice(0, 15)]);
      }
      await c.query('INSERT INTO oc_share (share_type, share_with, uid_owner, uid_initiator, item_type, item_source, file_source, file_target, permissions, stime, accepted, token) VALUES ?', [shares]);
      const [rows] = await c.query({ sql: 'SELECT COUNT(*) FROM oc_filecache', rowsAsArray: true });
      return { users: uids.length, filecache: Number((rows as unknown[][])[0]![0]), files, bytes, shares: shares.length };
    });

    // occ maintenance:mode --on is implied: nothing writes while the backup runs.
    const dumpArgs = ['--single-transaction', '--default-character-set=utf8mb4'];
    const dump = async (args: string[], file: string) => {
      const run = await db!.exec('mariadb-dump', [...dumpArgs, `--result-file=${file}`, ...args]);
      if (run.exitCode !== 0) throw new Error(`mariadb-dump: ${run.stderr}`);
    };
    if (options.damage === 'filecache-rows-missing') {
      // The table's structure is kept (a fresh install would recreate it anyway), its rows are not.
      await dump(['--ignore-table=nextcloud.oc_filecache', 'nextcloud'], dumpFile);
      const structure = join(day, '.oc_filecache.sql');
      await dump(['--no-data', 'nextcloud', 'oc_filecache'], structure);
      await appendFile(dumpFile, await readFile(structure));
      await rm(structure);
    } else {
      await dump(['nextcloud'], dumpFile);
    }

    // `mc mirror objectstore/nextcloud <day>/nextcloud-objects`: one file per object, named by its key.
    await mkdir(mirror);
    for await (const o of listAll(s3, nextcloudBucket, '')) await pipeline(await s3.getObject(nextcloudBucket, o.key), createWriteStream(join(mirror, o.key)));

    const { user, password, port } = db.endpoint;
    restoreproofCli(['baseline', 'capture', join(repoRoot, 'drills/examples/nextcloud.yaml'), '--store', 'db', '--from', `mysql://${user}@127.0.0.1:${port}/nextcloud`, '--password-env', 'SCENARIO_MARIADB_PASSWORD', '-o', baseline, '--content'], { SCENARIO_MARIADB_PASSWORD: password });
    return { dir: options.out, date, dump: dumpFile, mirror, baseline, counts };
  } finally {
    await Promise.all([db?.stop(), objectStore?.stop()]);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, scale: { type: 'string' }, damage: { type: 'string' }, date: { type: 'string' } } });
  const out = values.out ?? join(repoRoot, 'drills/backups/nextcloud');
  const made = await makeNextcloudScenario({ out, scale: Number(values.scale ?? 1), ...(values.damage ? { damage: values.damage as NextcloudDamage } : {}), ...(values.date ? { date: values.date } : {}) });
  console.error(`nextcloud scenario in ${made.dir} (${made.date}): ${JSON.stringify(made.counts)}`);
}
