// The neutral load client of bench:etcd: plain gRPC unary calls with @grpc/grpc-js over a service
// loaded from a .proto file by @grpc/proto-loader. etcd and omnimeta are called through this same
// class, with the same channel options and deadlines, so the client costs the same for both.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Decoding options shared by both systems: 64-bit integers as decimal strings, bytes as Buffers. */
const LOAD_OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: Number, defaults: true, oneofs: true };

/** One HTTP/2 connection per endpoint, as a gRPC library's default channel would make. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = { "grpc.max_receive_message_length": 16 * 1024 * 1024 };

type Callback = (err: grpc.ServiceError | null, response?: unknown) => void;
type UnaryMethod = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientUnaryCall;

/** A loaded .proto: services by their full name ("etcdserverpb.KV"). */
export class ProtoPackage {
  private readonly root: grpc.GrpcObject;

  constructor(protoFiles: string[], includeDirs: string[]) {
    this.root = grpc.loadPackageDefinition(protoLoader.loadSync(protoFiles, { ...LOAD_OPTIONS, includeDirs }));
  }

  service(fullName: string): grpc.ServiceClientConstructor {
    let node: unknown = this.root;
    for (const part of fullName.split(".")) node = (node as Record<string, unknown>)[part];
    if (typeof node !== "function") throw new Error(`no service ${fullName} in the loaded protos`);
    return node as grpc.ServiceClientConstructor;
  }
}

/** A unary gRPC client of one service at one endpoint (host:port). */
export class UnaryClient {
  private readonly client: grpc.Client;

  constructor(service: grpc.ServiceClientConstructor, readonly endpoint: string) {
    this.client = new service(endpoint, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  /** Calls `method` (the proto name, e.g. "Put") with a deadline; rejects with the grpc ServiceError. */
  call<T>(method: string, request: object, timeoutMs: number): Promise<T> {
    const fn = (this.client as unknown as Record<string, UnaryMethod>)[method];
    if (typeof fn !== "function") throw new Error(`no method ${method} on the client of ${this.endpoint}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(this.client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, response) => {
        if (err) reject(err);
        else resolve(response as T);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The gRPC status code of an error from UnaryClient.call (UNKNOWN for anything else). */
export function grpcCodeOf(e: unknown): grpc.status {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "number" ? code : grpc.status.UNKNOWN;
}

export { grpc };
