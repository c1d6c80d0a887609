import { connect } from 'node:net';

/** Resolves once `host:port` accepts a TCP connection (closed at once); rejects after 1s or on an error. */
export function probePort(port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolveProbe, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolveProbe()));
    socket.once('timeout', () => (socket.destroy(), reject(new Error('connect timed out'))));
    socket.once('error', (err) => (socket.destroy(), reject(err)));
  });
}
