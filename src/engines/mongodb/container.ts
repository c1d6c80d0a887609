import type { ContainerServerDeclaration } from '../../runtimes/servers.ts';
import { newMongoClient } from './client.ts';

/** MongoDB (or a MongoDB-wire server) in the official image. */
export const mongoContainerServer: ContainerServerDeclaration = {
  image: { latest: 'mongo:latest', versioned: 'mongo:{version}' },
  recipe(request) {
    // No authentication, as on the local runtime: the port is published on loopback only.
    return {
      port: 27017, user: '', password: '', env: {},
      tools: ['mongorestore'], toolEnv: {},
      async probe(endpoint) {
        const client = await newMongoClient(`mongodb://${endpoint.host}:${endpoint.port}/`, { serverSelectionTimeoutMS: 1000, directConnection: true });
        try {
          await client.connect();
          await client.db('admin').command({ ping: 1 });
          const info = await client.db('admin').command({ buildInfo: 1 });
          return `${info.version}${info.ferretdbVersion ? ` (FerretDB ${info.ferretdbVersion})` : ''}`;
        } finally {
          await client.close().catch(() => {});
        }
      },
      url: (e, database = '') => `mongodb://${e.host}:${e.port}/${database}`,
      toolUrl: (database = '') => `mongodb://127.0.0.1:27017/${database}`,
      help: (e, id) => [`${request.storeName}: mongodb://${e.host}:${e.port}/  (loopback only, no auth; container ${id.slice(0, 12)})`],
    };
  },
};
