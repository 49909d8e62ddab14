// Test helpers: a logger whose lines the test can read, and a throw-away
// HTTP server on a free loopback port.

import * as http from "node:http";
import { Logger } from "../src/log.js";

export type Line = Record<string, unknown>;

/** A debug-level logger that keeps its lines, parsed. */
export function captureLog(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = new Logger({
    service: "test",
    level: "debug",
    write: (line) => lines.push(JSON.parse(line) as Line),
  });
  return { log, lines };
}

/** Starts server on 127.0.0.1 (any free port); resolves its base URL. */
export function start(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      if (addr === null || typeof addr === "string") return reject(new Error("no port"));
      resolve(`http://127.0.0.1:${addr.port}`);
    });
  });
}

export function stop(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A server that records the headers of every request it gets. */
export function recorder(): { server: http.Server; seen: http.IncomingHttpHeaders[] } {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("ok");
  });
  return { server, seen };
}
