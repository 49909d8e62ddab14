// Small HTTP and signing helpers for the integration suite: one request per
// fresh connection (no keep-alive surprises with short server timeouts),
// forge signatures over the exact body bytes, raw-socket access for the
// slow-client cases, a Prometheus text parser and SQLite look-ups through
// the sqlite3 CLI. Never talks to anything but 127.0.0.1.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { sign } from '@octokit/webhooks-methods';

export const uuid = () => crypto.randomUUID();

// Resolves {status, headers, text, json} (json undefined if not JSON).
export function request(url, { method = 'GET', headers = {}, body, agent = false,
    timeoutMs = 15_000 } = {}) {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const buf = body === undefined ? undefined
            : (Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'));
        const h = { ...headers };
        if (buf !== undefined && !Object.keys(h).some(
            (k) => k.toLowerCase() === 'content-length' ||
                k.toLowerCase() === 'transfer-encoding'))
            h['Content-Length'] = String(buf.length);
        const req = http.request({
            host: u.hostname,
            port: u.port,
            path: u.pathname + u.search,
            method,
            headers: h,
            agent,
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let json;
                try {
                    json = JSON.parse(text);
                } catch {
                    json = undefined;
                }
                resolve({ status: res.statusCode, headers: res.headers, text,
                    json });
            });
            res.on('error', reject);
        });
        req.setTimeout(timeoutMs, () =>
            req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)));
        req.on('error', reject);
        if (buf !== undefined)
            req.write(buf);
        req.end();
    });
}

export async function getJson(url, headers = {}) {
    const r = await request(url, { headers });
    return r;
}

// GitHub: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, body).
export async function githubSignature(secret, body) {
    return sign(secret, typeof body === 'string' ? body : body.toString('utf8'));
}

export function hmacHex(algo, secret, body) {
    return crypto.createHmac(algo, secret).update(body).digest('hex');
}

// Standard Webhooks (GitLab signing tokens): "v1,<base64 HMAC-SHA256>" over
// "<id>.<timestamp>.<body>" keyed with the base64-decoded whsec_ secret.
export function standardWebhookSignature(whsec, id, ts, body) {
    const key = Buffer.from(whsec.replace(/^whsec_/, ''), 'base64');
    const mac = crypto.createHmac('sha256', key)
        .update(`${id}.${ts}.`).update(body).digest('base64');
    return `v1,${mac}`;
}

export async function postGithub(d, { secret, event, body, delivery = uuid(),
    contentType = 'application/json', extra = {}, sigHeader } = {}) {
    const headers = {
        'Content-Type': contentType,
        'X-GitHub-Event': event,
        'X-GitHub-Delivery': delivery,
        'User-Agent': 'GitHub-Hookshot/int',
        ...extra,
    };
    if (sigHeader === undefined)
        headers['X-Hub-Signature-256'] = await githubSignature(secret, body);
    else if (sigHeader !== null)
        headers['X-Hub-Signature-256'] = sigHeader;
    for (const k of Object.keys(headers)) {
        if (headers[k] === undefined || headers[k] === null)
            delete headers[k];
    }
    const r = await request(`${d.url}/hooks/github`, {
        method: 'POST', headers, body,
    });
    r.delivery = delivery;
    return r;
}

export async function getDelivery(d, id, headers = {}) {
    return request(`${d.url}/api/v1/deliveries/${encodeURIComponent(id)}`,
        { headers });
}

// The normalized event inside a delivery document D. DAEMON.md shows both
// "event":"push" and "event":{normalized} in D; accept the object wherever
// the daemon put it.
export function normalizedOf(doc) {
    if (doc && typeof doc.event === 'object' && doc.event !== null)
        return doc.event;
    for (const k of ['normalized', 'event_json', 'ev']) {
        if (doc && typeof doc[k] === 'object' && doc[k] !== null)
            return doc[k];
    }
    return undefined;
}

// Raw TCP: resolves {data, closed, closeMs, error} once the server closes
// the socket or `waitMs` passes. `script` is an async function(sock) that
// writes whatever it wants (it may keep writing while we wait).
export function rawExchange(addr, script, { waitMs = 10_000 } = {}) {
    const [host, portStr] = addr.split(':');
    return new Promise((resolve) => {
        const sock = net.connect({ host, port: Number(portStr) });
        const t0 = Date.now();
        const chunks = [];
        let done = false;
        let error = null;
        const finish = (closed) => {
            if (done)
                return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            resolve({
                data: Buffer.concat(chunks).toString('latin1'),
                closed,
                closeMs: Date.now() - t0,
                error,
            });
        };
        const timer = setTimeout(() => finish(false), waitMs);
        sock.on('data', (c) => chunks.push(c));
        sock.on('end', () => finish(true));
        sock.on('close', () => finish(true));
        sock.on('error', (e) => {
            error = e;
            finish(true);
        });
        sock.on('connect', () => {
            Promise.resolve(script(sock, () => done)).catch(() => {});
        });
    });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Prometheus text -> [{name, labels, value}]
export function parseMetrics(text) {
    const out = [];
    for (const line of text.split('\n')) {
        if (line.length === 0 || line.startsWith('#'))
            continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/
            .exec(line);
        if (!m)
            throw new Error(`unparseable metrics line: ${JSON.stringify(line)}`);
        const labels = {};
        if (m[3]) {
            const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;
            let lm;
            while ((lm = re.exec(m[3])) !== null)
                labels[lm[1]] = lm[2].replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        }
        const v = m[4] === '+Inf' ? Infinity : Number(m[4]);
        out.push({ name: m[1], labels, value: v });
    }
    return out;
}

export function metricValue(samples, name, labels = {}) {
    const hits = samples.filter((s) => s.name === name &&
        Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    if (hits.length === 0)
        return undefined;
    return hits.reduce((a, s) => a + s.value, 0);
}

// sqlite3 CLI, JSON output; rows as objects. Reads a live WAL database.
export function sql(dbPath, query) {
    const out = execFileSync('sqlite3',
        ['-batch', '-json', '-cmd', '.timeout 10000', dbPath, query],
        { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const t = out.trim();
    return t.length === 0 ? [] : JSON.parse(t);
}

export function deliveryCount(dbPath) {
    return sql(dbPath, 'SELECT count(*) AS n FROM deliveries')[0].n;
}
