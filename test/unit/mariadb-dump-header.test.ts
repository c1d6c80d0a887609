// MySQL 8's mysqldump output, as the mariadb engine reads it before any restore (no server needed:
// no registry here has MySQL 8 packages, so its header is written out here as MySQL 8.0 prints it).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpBinlogPosition } from '../../src/engines/mariadb/binlog.ts';
import { checkDumpEnd, detectMariadbFormat } from '../../src/engines/mariadb/restore.ts';
import { ArtefactError } from '../../src/errors.ts';
import { inspectLocalArtefact } from '../../src/sources/local.ts';

const mysql8Dump = `-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: shop
-- ------------------------------------------------------
-- Server version\t8.0.36

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!50503 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;
SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;
SET @@SESSION.SQL_LOG_BIN= 0;

--
-- GTID state at the beginning of the backup 
--

SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5';

--
-- Position to start replication or point-in-time recovery from
--

CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000002', SOURCE_LOG_POS=157;

--
-- Table structure for table \`items\`
--

DROP TABLE IF EXISTS \`items\`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE \`items\` (
  \`id\` int NOT NULL,
  \`name\` varchar(40) COLLATE utf8mb4_0900_ai_ci NOT NULL,
  PRIMARY KEY (\`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

LOCK TABLES \`items\` WRITE;
/*!40000 ALTER TABLE \`items\` DISABLE KEYS */;
INSERT INTO \`items\` VALUES (1,'one'),(2,'two');
/*!40000 ALTER TABLE \`items\` ENABLE KEYS */;
UNLOCK TABLES;
SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2026-11-29 23:10:02
`;

describe('mariadb engine: MySQL 8 mysqldump output', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-mysql8-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const step = (artefact: string) => ({ artefact, database: 'shop' });
  const inspect = async (name: string, text: string) => {
    await writeFile(join(dir, name), text);
    return inspectLocalArtefact(name, dir);
  };

  it('is read as a mysqldump file: header detected, its closing line found, the binlog coordinates of CHANGE REPLICATION SOURCE TO taken', async () => {
    const info = await inspect('mysql8.sql', mysql8Dump);
    assert.equal(detectMariadbFormat(step('mysql8.sql'), info), 'mysqldump SQL');
    await checkDumpEnd(step('mysql8.sql'), info);
    assert.deepEqual(await dumpBinlogPosition(info), { file: 'binlog.000002', position: 157, source: "the dump's CHANGE REPLICATION SOURCE TO" });
  });

  it('the same dump cut before its closing line is refused as truncated, naming the file', async () => {
    const cut = mysql8Dump.slice(0, mysql8Dump.indexOf('UNLOCK TABLES;') + 'UNLOCK TABLES;\n'.length);
    const info = await inspect('mysql8-cut.sql', cut);
    assert.equal(detectMariadbFormat(step('mysql8-cut.sql'), info), 'mysqldump SQL');
    await assert.rejects(checkDumpEnd(step('mysql8-cut.sql'), info), (err: unknown) => err instanceof ArtefactError && /mysql8-cut\.sql/.test(err.message) && /truncated/.test(err.message));
  });

  it('a --skip-comments dump (no header) is plain SQL, and the older CHANGE MASTER TO is read too', async () => {
    const bare = mysql8Dump.replace(/^-- .*\n/gm, '').replace('CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE', 'CHANGE MASTER TO MASTER_LOG_FILE').replace('SOURCE_LOG_POS', 'MASTER_LOG_POS');
    const info = await inspect('bare.sql', bare);
    assert.equal(detectMariadbFormat(step('bare.sql'), info), 'SQL');
    await checkDumpEnd(step('bare.sql'), info);
    assert.deepEqual(await dumpBinlogPosition(info), { file: 'binlog.000002', position: 157, source: "the dump's CHANGE MASTER TO" });
  });
});
