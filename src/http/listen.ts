/**
 * Binding a port, and saying where: the address the socket really has (not the name asked for), and
 * for a port that cannot be bound, what to do instead.
 */
import type { AddressInfo, Server } from 'node:net';
import { DriftgateError, errorMessage } from '../errors.ts';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** Listens on host:port; EADDRINUSE and friends become one line naming the flag that changes it. */
export function listen(server: Server, port: number, host: string | undefined, flag: string): Promise<AddressInfo> {
  return new Promise<AddressInfo>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${host ?? 'all interfaces'} port ${port}`;
      if (err.code === 'EADDRINUSE') reject(new DriftgateError('INPUT_INVALID', `${where} is already in use (another driftgate?): stop that process or choose another port with ${flag}`));
      else if (err.code === 'EACCES') reject(new DriftgateError('INPUT_INVALID', `not allowed to bind ${where}: ports below 1024 need privileges; choose another with ${flag}`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new DriftgateError('INPUT_INVALID', `cannot bind ${where}: no such local address; use --host localhost, 0.0.0.0 (all interfaces) or an address of this machine`));
      else reject(new DriftgateError('INPUT_INVALID', `cannot bind ${where}: ${errorMessage(err)}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** How to reach a bound socket: the name asked for when it is one, the bound address otherwise. */
export function listenUrl(host: string | undefined, bound: AddressInfo, path: string): string {
  if (WILDCARDS.has(bound.address) || host === undefined) return `https://${bound.family === 'IPv6' ? '[::]' : '0.0.0.0'}:${bound.port}${path} (all interfaces)`;
  const name = host && !/^[\d.:[\]]+$/.test(host) ? host : bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `https://${name}:${bound.port}${path}`;
}
