{{^cron}}
// The HTTP server on PORT: /healthz (liveness), /readyz (readiness),
// /metrics (Prometheus){{#api}} and the service's own routes (/hello){{/api}}.
// Each request of a service route gets a server span that continues the
// caller's trace (traceparent), is counted in http_requests_total and
// timed in http_request_duration_seconds. Probes and scrapes are neither
// traced nor counted: they are not traffic, and every few seconds from
// every pod they would drown the dashboards' throughput and latency.

import * as http from "node:http";
import type { Logger } from "./log.js";
import { CONTENT_TYPE, type Counter, type Histogram, type Registry } from "./metrics.js";
import type { Readiness } from "./readiness.js";
import type { Tracer } from "./tracing.js";
{{#api}}
import { hello } from "./hello.js";
{{/api}}

/** What a handler answers: a status and a JSON body, or text. */
export interface Reply {
  status: number;
  body: unknown;
  contentType?: string; // set for a text body; JSON otherwise
}

type Handler = (req: http.IncomingMessage, url: URL) => Reply | Promise<Reply>;

interface Route {
  handler: Handler;
  traffic: boolean; // traced, counted and timed
}

export interface HttpMetrics {
  requests: Counter;
  duration: Histogram;
}

export function httpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: registry.counter("http_requests_total", "HTTP requests served, by route, method and status code.", [
      "route",
      "method",
      "code",
    ]),
    duration: registry.histogram("http_request_duration_seconds", "Time to answer an HTTP request, by route.", [
      "route",
    ]),
  };
}

export interface ServerDeps {
  log: Logger;
  tracer: Tracer;
  registry: Registry;
  http: HttpMetrics;
  readiness: Readiness;
}

export function createServer(d: ServerDeps): http.Server {
  const routes = new Map<string, Route>([
    // liveness: the event loop answers, nothing else is looked at (never
    // the database or the queue: a slow dependency must not restart pods)
    ["/healthz", { traffic: false, handler: () => ({ status: 200, body: { status: "ok" } }) }],
    [
      "/readyz",
      {
        traffic: false,
        handler: () => {
          const s = d.readiness.status();
          return { status: s.ready ? 200 : 503, body: { status: s.ready ? "ready" : "not ready", ...s } };
        },
      },
    ],
    ["/metrics", { traffic: false, handler: () => ({ status: 200, body: d.registry.render(), contentType: CONTENT_TYPE }) }],
{{#api}}
    ["/hello", { traffic: true, handler: (_req, url) => hello(url.searchParams.get("name")) }],
{{/api}}
  ]);
  const server = http.createServer((req, res) => {
    serve(d, routes, req, res).catch((err: unknown) => {
      // a reply that could not be written (the client went away): never
      // an unhandled rejection, which would end the process
      d.log.warn("response failed", { err });
      res.destroy();
    });
  });
  // behind a Service the client keeps connections open; close them after
  // a while without requests, a little after the usual proxies do
  server.keepAliveTimeout = 65_000;
  return server;
}

async function serve(
  d: ServerDeps,
  routes: Map<string, Route>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const method = req.method ?? "GET";
  const found = routes.get(url.pathname);
  // unknown paths share one label value: a label per path would let any
  // client create unbounded series
  const route = found !== undefined ? url.pathname : "other";
  const handler: Handler =
    found === undefined
      ? () => ({ status: 404, body: { error: `no route ${url.pathname}` } })
      : method !== "GET" && method !== "HEAD"
        ? () => ({ status: 405, body: { error: `${method} is not allowed: use GET` } })
        : found.handler;

  if (found !== undefined && !found.traffic) {
    write(res, await answer(d, handler, req, url));
    return;
  }
  const span = d.tracer.startFromHeaders(`${method} ${route}`, req.headers, "server");
  span.setAttribute("http.request.method", method);
  span.setAttribute("http.route", route);
  span.setAttribute("url.path", url.pathname);
  const start = process.hrtime.bigint();
  await d.tracer.withSpan(span, async () => {
    const reply = await answer(d, handler, req, url);
    if (reply.status >= 500) span.setError(`HTTP ${reply.status}`);
    if (reply.status === 405) res.setHeader("Allow", "GET, HEAD");
    write(res, reply);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    span.setAttribute("http.response.status_code", reply.status);
    d.http.requests.inc({ route, method, code: String(reply.status) });
    d.http.duration.observe(seconds, { route });
    span.end();
  });
}

// The handler's reply; a 500 (and an error log) when it throws.
async function answer(d: ServerDeps, handler: Handler, req: http.IncomingMessage, url: URL): Promise<Reply> {
  try {
    return await handler(req, url);
  } catch (err) {
    d.log.error("request failed", { path: url.pathname, err });
    return { status: 500, body: { error: "internal error" } };
  }
}

function write(res: http.ServerResponse, reply: Reply): void {
  const text = reply.contentType !== undefined ? String(reply.body) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "Content-Type": reply.contentType ?? "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
  });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

/** Listens on port (0: any free one) on all addresses; resolves the port. */
export function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      server.off("error", reject);
      const addr = server.address();
      resolve(typeof addr === "object" && addr !== null ? addr.port : port);
    });
  });
}

/** Stops accepting connections and resolves when the requests in flight
 * are answered. */
export function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // idle keep-alive connections would hold close() until they time out
    server.closeIdleConnections();
  });
}
{{/cron}}
