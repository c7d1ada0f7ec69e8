/** The small part of node-ipc 12.0.0 we use (it ships no types). Only the server, in rawBuffer mode. */
declare module 'node-ipc' {
  import type { Server as NetServer, Socket } from 'node:net';

  interface IpcConfig {
    silent: boolean;
    rawBuffer: boolean;
    unlink: boolean;
    encoding: BufferEncoding;
    maxConnections: number;
    maxRetries: number;
    readableAll: boolean;
    writableAll: boolean;
    [key: string]: unknown;
  }

  interface IpcSocketServer {
    /**
     * The underlying net.Server once started (false before). `allowHalfOpen` is net.Server's
     * own (untyped) field that each accepted socket copies; node-ipc gives no option for it.
     */
    server: (NetServer & { allowHalfOpen: boolean }) | false;
    sockets: Socket[];
    start(): void;
    stop(): void;
    on(event: 'data', handler: (data: Buffer, socket: Socket) => void): void;
    on(event: 'connect', handler: (socket: Socket) => void): void;
    on(event: 'error', handler: (error: Error) => void): void;
    on(event: string, handler: (...args: never[]) => void): void;
  }

  export class IPCModule {
    config: IpcConfig;
    server: IpcSocketServer;
    serve(path: string, callback?: () => void): void;
  }
}
