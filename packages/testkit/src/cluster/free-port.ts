// Finds free TCP ports on 127.0.0.1 by binding port 0. Ports are handed out once per process, so
// two nodes of one run never get the same port even if the OS hands it out again.
import * as net from "node:net";

const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
