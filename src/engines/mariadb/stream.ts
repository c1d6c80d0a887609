// Streams a query's rows without loading them all: mysql2's query stream under the promise connection.
import type { Connection } from 'mysql2/promise';
import type { Connection as CoreConnection, QueryOptions } from 'mysql2';

export interface QueryStream {
  rows: AsyncIterable<unknown[]>;
  /** Ends the connection; one not read to its end is destroyed (ending it would wait for every row). */
  close(): Promise<void>;
}

/** Rows as arrays, read as the consumer asks for them; the connection belongs to the stream from here. */
export function streamQuery(connection: Connection, options: Omit<QueryOptions, 'rowsAsArray'>, signal: AbortSignal): QueryStream {
  // The promise wrapper holds the callback connection, which alone can stream.
  const core = (connection as unknown as { connection: CoreConnection }).connection;
  let finished = false;
  return {
    rows: (async function* () {
      const stream = core.query({ ...options, rowsAsArray: true }).stream({ highWaterMark: 1000 });
      for await (const row of stream as AsyncIterable<unknown[]>) {
        signal.throwIfAborted();
        yield row;
      }
      finished = true;
    })(),
    async close() {
      if (finished) await connection.end().catch(() => {});
      else connection.destroy();
    },
  };
}
