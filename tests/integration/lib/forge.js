// A loopback fake forge for the reporter tests (report*.test.js): a node
// http server on 127.0.0.1 (kernel-chosen port) that records every request
// (method, path, headers, raw and parsed body, arrival and answer times)
// and answers as a test scripts it: a status, headers, a body, a delay, a
// dropped connection, or refused connections (it stops listening on its
// port and listens again on the same port later). As GitHub it VALIDATES
// each commit-status request body against GitHub's published OpenAPI
// description (npm @octokit/openapi, operation repos/create-commit-status)
// with the small schema checker below, and answers 422 like GitHub when
// the body does not conform. It also knows Gitea's and GitLab's status
// routes (recorded and answered, not validated: neither publishes its
// schema in a package here).
//
// It also starts @octokit/fixtures-server (recorded from the real
// api.github.com) in a child process for the strict replay test, and holds
// the small helpers the report tests share: the daemon env for a forge,
// the statuses per (repo, sha, context) in arrival order, the order check.
//
// It never talks to anything but 127.0.0.1 and never reads paved's code.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, sleep } from './http.js';
import { scenario, waitFor } from './runs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const intDir = path.resolve(here, '..');
const require = createRequire(import.meta.url);

// ------------------------------------------------------------- OpenAPI

export const GITHUB_STATUS_PATH = '/repos/{owner}/{repo}/statuses/{sha}';
export const GITHUB_STATUS_OPERATION = 'repos/create-commit-status';

let openapiDoc = null;
const operationCache = new Map();

// GitHub's description of api.github.com (npm @octokit/openapi), parsed
// once per process: the file is 13 MB and takes a few hundred ms.
function openapiDocument() {
    if (openapiDoc)
        return openapiDoc;
    const pkgDir = path.dirname(
        require.resolve('@octokit/openapi/package.json'));
    const file = path.join(pkgDir, 'generated', 'api.github.com.json');
    openapiDoc = { file, doc: JSON.parse(fs.readFileSync(file, 'utf8')) };
    return openapiDoc;
}

// node with every $ref of the description resolved (a recursive $ref is
// an error: GitHub's request bodies have none).
function resolveRefs(doc, node, seen = new Set()) {
    if (Array.isArray(node))
        return node.map((x) => resolveRefs(doc, x, seen));
    if (node === null || typeof node !== 'object')
        return node;
    if (typeof node.$ref === 'string') {
        if (seen.has(node.$ref))
            throw new Error(`recursive $ref ${node.$ref}`);
        const parts = node.$ref.replace(/^#\//, '').split('/')
            .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
        let target = doc;
        for (const p of parts)
            target = target?.[p];
        if (target === undefined)
            throw new Error(`unresolved $ref ${node.$ref}`);
        return resolveRefs(doc, target, new Set([...seen, node.$ref]));
    }
    const out = {};
    for (const [k, v] of Object.entries(node))
        out[k] = resolveRefs(doc, v, seen);
    return out;
}

// Any operation of GitHub's description by path template and method, e.g.
// githubOperation('/repos/{owner}/{repo}/check-runs', 'post',
// 'checks/create'): {version, operationId, method, path, bodyRequired,
// schema (the application/json request body schema, $refs resolved; null
// when the operation takes no JSON body), params, responses (status ->
// resolved application/json schema, or null)}. operationId, when given,
// must match (a guard against a renamed route). Cached per process.
export function githubOperation(apiPath, method, operationId) {
    const m = method.toLowerCase();
    const ck = `${m} ${apiPath}`;
    const hit = operationCache.get(ck);
    if (hit && (!operationId || hit.operationId === operationId))
        return hit;
    const { file, doc } = openapiDocument();
    const op = doc.paths?.[apiPath]?.[m];
    if (!op || (operationId && op.operationId !== operationId))
        throw new Error(`${file}: no ${m.toUpperCase()} ${apiPath}` +
            (operationId ? ` with operationId ${operationId}` : ''));
    const body = op.requestBody ? resolveRefs(doc, op.requestBody) : null;
    const media = body?.content?.['application/json'];
    if (body && !media?.schema)
        throw new Error(`${op.operationId}: no application/json ` +
            'request body schema');
    const responses = {};
    for (const [st, r] of Object.entries(op.responses ?? {})) {
        const rr = resolveRefs(doc, r);
        responses[st] = rr?.content?.['application/json']?.schema ?? null;
    }
    const out = {
        version: doc.info?.version,
        operationId: op.operationId,
        method: m,
        path: apiPath,
        bodyRequired: body?.required === true,
        schema: media?.schema ?? null,
        params: resolveRefs(doc, op.parameters ?? []),
        responses,
    };
    operationCache.set(ck, out);
    return out;
}

// {version, operationId, schema (request body, $refs resolved), params}
// of POST /repos/{owner}/{repo}/statuses/{sha} in GitHub's description of
// api.github.com. Loaded once per process (see githubOperation()).
export function githubStatusOperation() {
    return githubOperation(GITHUB_STATUS_PATH, 'post',
        GITHUB_STATUS_OPERATION);
}

function typeOf(v) {
    if (v === null)
        return 'null';
    if (Array.isArray(v))
        return 'array';
    if (typeof v === 'number')
        return Number.isInteger(v) ? 'integer' : 'number';
    return typeof v;
}

// A small checker for the OpenAPI 3.0 schema subset GitHub's operations
// use: type, nullable, enum, required, properties, additionalProperties,
// items, min/maxLength, pattern, minimum/maximum, allOf/anyOf/oneOf.
// strictProps: also report properties the schema does not name (GitHub
// ignores them; a client that sends them is sending something nobody
// reads). Returns a list of "path: problem" strings, empty when valid.
export function validateSchema(schema, value, { strictProps = true,
    at = '$' } = {}) {
    const errs = [];
    const check = (s, v, p) => {
        if (!s || typeof s !== 'object')
            return;
        if (Array.isArray(s.allOf))
            for (const sub of s.allOf)
                check(sub, v, p);
        for (const key of ['anyOf', 'oneOf']) {
            if (!Array.isArray(s[key]))
                continue;
            const ok = s[key].filter((sub) =>
                validateSchema(sub, v, { strictProps, at: p }).length === 0);
            if (key === 'anyOf' ? ok.length === 0 : ok.length !== 1)
                errs.push(`${p}: matches ${ok.length} of the ${key} ` +
                    'subschemas');
        }
        if (v === null) {
            if (s.nullable === true || s.type === 'null' ||
                (Array.isArray(s.type) && s.type.includes('null')))
                return;
            if (s.type !== undefined) {
                errs.push(`${p}: null is not allowed (type ${s.type})`);
                return;
            }
        }
        const t = typeOf(v);
        if (s.type !== undefined) {
            const types = Array.isArray(s.type) ? s.type : [s.type];
            const okType = types.some((want) => want === t ||
                (want === 'number' && t === 'integer'));
            if (!okType) {
                errs.push(`${p}: is ${t}, want ${types.join('|')}`);
                return;
            }
        }
        if (Array.isArray(s.enum) && !s.enum.some((e) => e === v))
            errs.push(`${p}: ${JSON.stringify(v)} is not one of ` +
                `${JSON.stringify(s.enum)}`);
        if (t === 'string') {
            if (typeof s.maxLength === 'number' && [...v].length > s.maxLength)
                errs.push(`${p}: longer than ${s.maxLength}`);
            if (typeof s.minLength === 'number' && [...v].length < s.minLength)
                errs.push(`${p}: shorter than ${s.minLength}`);
            if (typeof s.pattern === 'string' &&
                !new RegExp(s.pattern, 'u').test(v))
                errs.push(`${p}: does not match ${s.pattern}`);
        }
        if (t === 'integer' || t === 'number') {
            if (typeof s.minimum === 'number' && v < s.minimum)
                errs.push(`${p}: below ${s.minimum}`);
            if (typeof s.maximum === 'number' && v > s.maximum)
                errs.push(`${p}: above ${s.maximum}`);
        }
        if (t === 'object') {
            for (const k of s.required ?? []) {
                if (!(k in v))
                    errs.push(`${p}: required property "${k}" is missing`);
            }
            const props = s.properties ?? {};
            for (const [k, sub] of Object.entries(v)) {
                if (k in props)
                    check(props[k], sub, `${p}.${k}`);
                else if (s.additionalProperties === false ||
                    (strictProps && s.properties &&
                        s.additionalProperties === undefined))
                    errs.push(`${p}: property "${k}" is not in the schema`);
                else if (typeof s.additionalProperties === 'object')
                    check(s.additionalProperties, sub, `${p}.${k}`);
            }
        }
        if (t === 'array' && s.items)
            v.forEach((x, i) => check(s.items, x, `${p}[${i}]`));
    };
    check(schema, value, at);
    return errs;
}

// Every problem GitHub's OpenAPI description finds in one request of
// operation op (githubOperation()): the body against the operation's
// schema, the JSON media type, the path parameters. Empty when it
// conforms. An operation without a JSON body takes an empty one.
export function validateGithubRequest(op, { headers, raw, body, params }) {
    const errs = [];
    const hasBody = raw !== undefined && raw.length > 0;
    if (op.schema) {
        const ct = String(headers['content-type'] ?? '');
        if ((hasBody || op.bodyRequired) &&
            !/^application\/json\b/i.test(ct))
            errs.push(`content-type ${JSON.stringify(ct)}: the operation ` +
                'takes application/json');
        if (op.bodyRequired && !hasBody)
            errs.push('the request body is required');
        else if (hasBody && body === undefined)
            errs.push(`the body is not JSON: ${JSON.stringify(
                raw.slice(0, 200))}`);
        else if (hasBody)
            errs.push(...validateSchema(op.schema, body, { at: 'body' }));
    } else if (hasBody) {
        errs.push(`${op.operationId} takes no request body, got ` +
            `${JSON.stringify(raw.slice(0, 200))}`);
    }
    for (const prm of op.params) {
        if (prm.in !== 'path')
            continue;
        const v = params[prm.name];
        if (prm.required && (v === undefined || v === ''))
            errs.push(`path parameter ${prm.name} is missing`);
        else if (prm.schema)
            errs.push(...validateSchema(prm.schema, v, { at: prm.name }));
    }
    return errs;
}

// The same for one commit-status request (POST .../statuses/{sha}).
export function validateGithubStatusRequest({ headers, raw, body, params }) {
    return validateGithubRequest(githubStatusOperation(),
        { headers, raw, body, params });
}

// ------------------------------------------------------------- the fake

// GitHub's own answers, as the real API words them.
export const GITHUB_DOCS_STATUS =
    'https://docs.github.com/rest/commits/statuses#create-a-commit-status';

export function githubError(status, message, extra = {}) {
    return {
        status,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: { message, documentation_url: GITHUB_DOCS_STATUS,
            status: String(status), ...extra },
    };
}

export const answers = {
    // 5xx, as GitHub's front ends send them
    serverError: (status = 500) => githubError(status, status === 503
        ? 'Service Unavailable' : 'Server Error'),
    // the primary rate limit: 403 (or 429) with X-RateLimit-Remaining: 0
    rateLimited: (resetUnixSeconds, status = 403) => {
        const a = githubError(status, 'API rate limit exceeded for user ID ' +
            '1000. If you reach out to GitHub Support for help, please ' +
            'include the request ID 0000:0000:0000000:0000000:00000000.');
        a.headers['x-ratelimit-limit'] = '5000';
        a.headers['x-ratelimit-remaining'] = '0';
        a.headers['x-ratelimit-used'] = '5000';
        a.headers['x-ratelimit-reset'] = String(resetUnixSeconds);
        a.headers['x-ratelimit-resource'] = 'core';
        return a;
    },
    // a secondary rate limit: 403, a message saying so, no headers
    secondaryLimit: () => githubError(403, 'You have exceeded a secondary ' +
        'rate limit. Please wait a few minutes before you try again. If you ' +
        'reach out to GitHub Support for help, please include the request ' +
        'ID 0000:0000:0000000:0000000:00000000.'),
    tooMany: (retryAfterSeconds) => {
        const a = githubError(429, 'Too Many Requests');
        a.headers['retry-after'] = String(retryAfterSeconds);
        return a;
    },
    // what GitHub says for a SHA the repository does not have
    noCommit: (sha) => githubError(422, `No commit found for SHA: ${sha}`),
};

function githubStatusAnswer(st, baseUrl) {
    const id = 1000 + st.seq;
    const url = `${baseUrl}/repos/${st.repo}/statuses/${st.sha}`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return {
        status: 201,
        headers: {
            'content-type': 'application/json; charset=utf-8',
            location: url,
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': '4999',
            'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
            'x-ratelimit-resource': 'core',
        },
        body: {
            url, id, node_id: `SC_fake${id}`, state: st.state,
            description: st.description ?? null,
            target_url: st.target_url ?? null,
            context: st.context ?? 'default',
            created_at: now, updated_at: now,
            creator: { login: 'paved-bot', id: 1, type: 'User' },
        },
    };
}

// Which status route a path is, for each kind. Returns {repo, sha, params}
// or null. GitLab's project id is a URL-encoded path.
function parseStatusPath(kind, p) {
    const dec = decodeURIComponent;
    let m;
    if (kind === 'github' &&
        (m = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/]+)$/.exec(p)))
        return { repo: `${dec(m[1])}/${dec(m[2])}`, sha: dec(m[3]),
            params: { owner: dec(m[1]), repo: dec(m[2]), sha: dec(m[3]) } };
    if (kind === 'gitea' &&
        (m = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/]+)$/
            .exec(p)))
        return { repo: `${dec(m[1])}/${dec(m[2])}`, sha: dec(m[3]),
            params: {} };
    if (kind === 'gitlab' &&
        (m = /^\/api\/v4\/projects\/([^/]+)\/statuses\/([^/]+)$/.exec(p)))
        return { repo: dec(m[1]), sha: dec(m[2]), params: { id: m[1] } };
    return null;
}

// What a status request says, in one shape for all kinds:
// {state, context, description, target_url}.
function statusFields(kind, body) {
    if (!body || typeof body !== 'object')
        return {};
    if (kind === 'gitlab')
        return { state: body.state, context: body.name ?? body.context,
            description: body.description, target_url: body.target_url };
    return { state: body.state, context: body.context,
        description: body.description, target_url: body.target_url };
}

// opts: {kind: 'github'|'gitea'|'gitlab', prefix: '' (e.g. '/api/v3' for a
// GitHub Enterprise base URL), validate: true (GitHub only)}.
// Returns the forge handle; see the fields below.
export async function startFakeForge({ kind = 'github', prefix = '',
    validate = true } = {}) {
    // parse GitHub's description now, not while a request waits (it
    // takes a few hundred ms and would stall the fake's answers)
    if (kind === 'github' && validate)
        githubStatusOperation();
    const t0 = Date.now();
    const requests = [];
    const queue = [];
    const sockets = new Set();
    let handler = null;
    let listening = false;
    let port = 0;
    let seq = 0;
    const waiters = new Set();

    const notify = () => {
        for (const w of [...waiters]) {
            if (w.pred()) {
                waiters.delete(w);
                w.resolve();
            }
        }
    };

    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('error', () => {});
        req.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let body;
            try {
                body = raw.length > 0 ? JSON.parse(raw) : undefined;
            } catch {
                body = undefined;
            }
            const u = new URL(req.url, 'http://127.0.0.1');
            let p = u.pathname;
            const prefixed = prefix === '' || p.startsWith(`${prefix}/`);
            if (prefix !== '' && prefixed)
                p = p.slice(prefix.length);
            const rec = {
                seq: seq++,
                method: req.method,
                url: req.url,
                path: p,
                prefixed,
                headers: { ...req.headers },
                rawHeaders: [...req.rawHeaders],
                raw,
                body,
                time: Date.now(),
                answeredAt: null,
                answer: null, // {status} once answered, 'closed' when dropped
                status: null, // the status it sets, for status routes
                schemaErrors: [],
            };
            const route = req.method === 'POST' && prefixed
                ? parseStatusPath(kind, p) : null;
            if (route) {
                rec.status = { repo: route.repo, sha: route.sha,
                    ...statusFields(kind, body), seq: rec.seq };
                if (kind === 'github' && validate)
                    rec.schemaErrors = validateGithubStatusRequest({
                        headers: req.headers, raw, body,
                        params: route.params });
            }
            requests.push(rec);

            let spec;
            if (rec.schemaErrors.length > 0) {
                // what GitHub answers a body its schema refuses
                spec = githubError(422, `Invalid request.\n\n` +
                    rec.schemaErrors.join('\n'));
            } else {
                if (handler)
                    spec = handler(rec);
                if (spec === undefined && queue.length > 0)
                    spec = queue.shift();
                if (spec === undefined) {
                    if (route && kind === 'github')
                        spec = githubStatusAnswer(rec.status,
                            `http://127.0.0.1:${port}${prefix}`);
                    else if (route)
                        spec = { status: 201, body: { id: rec.seq + 1,
                            status: rec.status.state,
                            context: rec.status.context } };
                    else
                        spec = { status: 404, body: { message: 'Not Found' } };
                }
            }
            Promise.resolve(spec).catch((e) => ({ status: 502,
                body: { message: `fake forge: ${e.message}` } }))
                .then((sp) => answer(sp));
            notify();
            const answer = (sp) => {
                spec = sp;
                rec.spec = sp;
                if (sp.delayMs > 0)
                    setTimeout(send, sp.delayMs);
                else
                    send();
            };
            const send = () => {
                if (spec.close) {
                    rec.answer = 'closed';
                    rec.answeredAt = Date.now();
                    req.socket.destroy();
                    notify();
                    return;
                }
                const text = spec.body === undefined ? ''
                    : (typeof spec.body === 'string' ? spec.body
                        : JSON.stringify(spec.body));
                const h = { 'content-type': 'application/json; charset=utf-8',
                    ...(spec.headers ?? {}) };
                h['content-length'] = String(Buffer.byteLength(text));
                rec.answeredAt = Date.now();
                rec.answerText = text;
                rec.answer = { status: spec.status ?? 200,
                    clientGone: req.socket.destroyed };
                try {
                    res.writeHead(spec.status ?? 200, h);
                    res.end(text);
                } catch {
                    rec.answer.clientGone = true;
                }
                notify();
            };
        });
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
    });
    server.on('clientError', (e, s) => s.destroy());

    const listen = (p) => new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(p, '127.0.0.1', () => {
            server.removeListener('error', reject);
            listening = true;
            resolve(server.address().port);
        });
    });
    port = await listen(0);

    const forge = {
        kind,
        t0,
        get port() {
            return port;
        },
        // the base URL for PAVED_<FORGE>_API_URL (no trailing slash)
        get url() {
            return `http://127.0.0.1:${port}${prefix}`;
        },
        requests,
        // every status request (any answer), arrival order
        statuses: () => requests.filter((r) => r.status).map((r) => ({
            ...r.status, time: r.time, answeredAt: r.answeredAt,
            answer: r.answer, rec: r })),
        // the status requests the forge took (2xx and answered)
        accepted: () => forge.statuses().filter((s) => s.answer &&
            s.answer !== 'closed' && s.answer.status >= 200 &&
            s.answer.status < 300 && !s.answer.clientGone),
        // what the forge shows per "repo@sha context": the last status (by
        // arrival) it answered 2xx, even to a client that had given up
        // waiting (the forge created it all the same)
        shown: () => {
            const m = new Map();
            for (const s of forge.statuses()) {
                const st = s.rec.spec?.status ?? 0;
                if (s.answer && s.answer !== 'closed' && st >= 200 &&
                    st < 300)
                    m.set(`${s.repo}@${s.sha} ${s.context}`, s);
            }
            return m;
        },
        schemaErrors: () => requests.filter((r) => r.schemaErrors.length > 0)
            .map((r) => ({ seq: r.seq, path: r.path, raw: r.raw,
                errors: r.schemaErrors })),
        // fn(rec) -> answer spec or undefined (then the queue, then the
        // default). Spec: {status, headers, body, delayMs, close}
        onRequest(fn) {
            handler = fn;
        },
        // answers for the next requests, in order (after onRequest)
        enqueue(...specs) {
            queue.push(...specs);
        },
        healthy() {
            handler = null;
            queue.length = 0;
        },
        // Connection refused: stop listening (and drop open connections);
        // accept() listens again on the same port.
        async refuse() {
            if (!listening)
                return;
            listening = false;
            const closed = new Promise((r) => server.close(() => r()));
            for (const s of sockets)
                s.destroy();
            await closed;
        },
        async accept() {
            if (listening)
                return;
            const p = await listen(port);
            if (p !== port)
                throw new Error(`fake forge came back on ${p}, not ${port}`);
        },
        // resolves once pred() holds (checked at every request/answer), or
        // rejects after timeoutMs with describe()
        waitFor(what, pred, { timeoutMs = 90_000 } = {}) {
            if (pred())
                return Promise.resolve();
            return new Promise((resolve, reject) => {
                let timer = null;
                const w = { pred, resolve: () => {
                    clearTimeout(timer);
                    resolve();
                } };
                waiters.add(w);
                timer = setTimeout(() => {
                    if (!waiters.has(w))
                        return;
                    waiters.delete(w);
                    reject(new Error(`fake forge: timed out after ` +
                        `${timeoutMs} ms waiting for ${what}\n` +
                        `requests seen:\n${forge.describe()}`));
                }, timeoutMs);
            });
        },
        // one line per request, for failure messages
        describe() {
            return requests.map((r) => {
                const a = r.answer === 'closed' ? 'closed'
                    : (r.answer ? `${r.answer.status}` : 'unanswered');
                const st = r.status ? ` ${r.status.repo}@${
                    String(r.status.sha).slice(0, 8)} ${r.status.context}=` +
                    `${r.status.state} ${JSON.stringify(r.status.description)}`
                    : '';
                return `  #${r.seq} +${r.time - t0}ms ${r.method} ${r.path}` +
                    ` -> ${a}${st}`;
            }).join('\n') || '  (none)';
        },
        async close() {
            waiters.clear();
            if (listening) {
                listening = false;
                const closed = new Promise((r) => server.close(() => r()));
                for (const s of sockets)
                    s.destroy();
                await closed;
            }
        },
    };
    return forge;
}

// A handler for forge.onRequest that forwards each request as it came
// (method, path, headers but Host, body bytes) to target (a base URL with
// an optional path prefix) and answers with what target answered: the
// fake then records exactly what paved sent and what the server said.
export function proxyTo(target) {
    const t = new URL(target);
    const base = t.pathname.replace(/\/$/, '');
    return (rec) => new Promise((resolve, reject) => {
        const headers = {};
        for (let i = 0; i < rec.rawHeaders.length; i += 2) {
            const k = rec.rawHeaders[i];
            if (k.toLowerCase() === 'host' ||
                k.toLowerCase() === 'connection')
                continue;
            headers[k] = rec.rawHeaders[i + 1];
        }
        const req = http.request({ host: t.hostname, port: t.port,
            method: rec.method, path: base + rec.url, headers,
            agent: false }, (res) => {
            const c = [];
            res.on('data', (x) => c.push(x));
            res.on('end', () => {
                const h = { ...res.headers };
                delete h['content-length'];
                delete h['transfer-encoding'];
                delete h.connection;
                resolve({ status: res.statusCode, headers: h,
                    body: Buffer.concat(c).toString('utf8') });
            });
            res.on('error', reject);
        });
        req.on('error', reject);
        req.end(Buffer.from(rec.raw, 'utf8'));
    });
}

// ------------------------------------------------------ report helpers

// Appends text to an error as the reporter shows it (the stack, which was
// made when the error was, and the message).
export function addContext(e, text) {
    if (!e || typeof e !== 'object')
        return;
    try {
        e.message += `\n${text}`;
        if (typeof e.stack === 'string')
            e.stack += `\n${text}`;
    } catch {
        // read-only
    }
}


// Env for the daemon so it reports to this fake forge.
export function reportEnv(forge, { token, publicUrl, timeout } = {}) {
    const env = {};
    if (forge.kind === 'github') {
        env.PAVED_GITHUB_API_URL = forge.url;
        env.PAVED_GITHUB_TOKEN = token;
    } else if (forge.kind === 'gitea') {
        env.PAVED_GITEA_API_URL = forge.url;
        env.PAVED_GITEA_TOKEN = token;
    } else {
        env.PAVED_GITLAB_API_URL = forge.url;
        env.PAVED_GITLAB_API_TOKEN = token;
    }
    if (publicUrl !== undefined)
        env.PAVED_PUBLIC_URL = publicUrl;
    if (timeout !== undefined)
        env.PAVED_REPORT_TIMEOUT = timeout;
    return env;
}

const key = (s) => `${s.repo}@${s.sha} ${s.context}`;

// Map "repo@sha context" -> list of statuses (arrival order).
export function byContext(list) {
    const m = new Map();
    for (const s of list) {
        const k = key(s);
        if (!m.has(k))
            m.set(k, []);
        m.get(k).push(s);
    }
    return m;
}

export const FINAL_GITHUB = ['success', 'failure', 'error'];

// Problems with the order of states per context: once a final state has
// been sent, a pending one must never follow; once a final state has been
// accepted, no other final state may follow it either (paved's runs end
// once). Looks at every request the forge received, accepted or not.
export function orderProblems(list, finals = FINAL_GITHUB) {
    const out = [];
    for (const [k, sts] of byContext(list)) {
        let final = null;
        for (const s of sts) {
            if (finals.includes(s.state)) {
                if (final !== null && final !== s.state)
                    out.push(`${k}: ${s.state} (#${s.seq}) after ${final}`);
                final = s.state;
            } else if (final !== null) {
                out.push(`${k}: ${s.state} (#${s.seq}) after ${final}`);
            }
        }
    }
    return out;
}

// ----------------------------------------------- @octokit/fixtures-server

// Starts @octokit/fixtures-server (the scenarios recorded from the real
// api.github.com by @octokit/fixtures) in a child process on 127.0.0.1 and
// a port chosen by the kernel. Returns {url, port, load(scenario) ->
// {id, url}, log() (its stderr), stop()}.
export async function startFixturesServer({ ttlMs = 600_000 } = {}) {
    // the package's own middleware, as its README's "Express Middleware"
    // shows, on a loopback listener (its bin listens on every interface)
    const code = `
import express from 'express';
import fixturesServer from '@octokit/fixtures-server';
const app = express();
const srv = app.listen(0, '127.0.0.1', () => {
    const port = srv.address().port;
    app.use(fixturesServer({ fixturesUrl: 'http://127.0.0.1:' + port,
        logLevel: 'warn', ttl: ${Number(ttlMs)} }));
    process.stdout.write('LISTENING ' + port + '\\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code],
        { cwd: intDir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (b) => {
        err += b.toString('utf8');
    });
    const port = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(
            `fixtures-server did not start:\n${err}`)), 30_000);
        child.stdout.on('data', (b) => {
            out += b.toString('utf8');
            const m = /LISTENING (\d+)/.exec(out);
            if (m) {
                clearTimeout(timer);
                resolve(Number(m[1]));
            }
        });
        child.once('exit', (c) => {
            clearTimeout(timer);
            reject(new Error(`fixtures-server exited (${c}):\n${err}`));
        });
    });
    const killOnExit = () => {
        try {
            child.kill('SIGKILL');
        } catch {
            // gone
        }
    };
    process.on('exit', killOnExit);
    const url = `http://127.0.0.1:${port}`;
    return {
        url,
        port,
        log: () => err,
        async load(scenario) {
            const body = JSON.stringify({ scenario });
            const r = await new Promise((resolve, reject) => {
                const req = http.request(`${url}/fixtures`, { method: 'POST',
                    headers: { 'content-type': 'application/json',
                        'content-length': Buffer.byteLength(body) },
                    agent: false }, (res) => {
                    const c = [];
                    res.on('data', (x) => c.push(x));
                    res.on('end', () => resolve({ status: res.statusCode,
                        text: Buffer.concat(c).toString('utf8') }));
                });
                req.on('error', reject);
                req.end(body);
            });
            if (r.status !== 201)
                throw new Error(`fixtures-server: load ${scenario}: ` +
                    `${r.status} ${r.text}`);
            const j = JSON.parse(r.text);
            return { id: j.id, url: j.url.replace(/\/$/, '') };
        },
        async stop() {
            process.removeListener('exit', killOnExit);
            if (child.exitCode !== null || child.signalCode !== null)
                return;
            const gone = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 3000);
            await gone;
            clearTimeout(t);
        },
    };
}

// The recorded requests of a scenario of @octokit/fixtures
// (normalized-fixture.json), as recorded from the real API.
export function recordedScenario(name) {
    const dir = path.dirname(require.resolve('@octokit/fixtures/package.json'));
    return JSON.parse(fs.readFileSync(path.join(dir, 'scenarios',
        'api.github.com', name, 'normalized-fixture.json'), 'utf8'));
}

// ------------------------------------------- scenarios for report tests

// What the daemon's sockets look like when it refused a connection: is it
// alive, does it still listen, how many descriptors does it hold.
function daemonSockets(d) {
    const out = [`--- paved pid ${d.pid} running=${d.running} addr ${d.addr}`];
    try {
        out.push(execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' })
            .split('\n').filter((l) => l.includes(`pid=${d.pid},`) ||
                l.includes(`:${d.addr?.split(':')[1]} `)).join('\n') ||
            '(no listening socket of paved)');
    } catch (e) {
        out.push(`(ss failed: ${e.message})`);
    }
    try {
        const fds = fs.readdirSync(`/proc/${d.pid}/fd`);
        out.push(`open descriptors: ${fds.length}`);
        out.push(fds.map((f) => {
            try {
                return `${f}->${fs.readlinkSync(`/proc/${d.pid}/fd/${f}`)}`;
            } catch {
                return `${f}->?`;
            }
        }).join(' '));
    } catch (e) {
        out.push(`(no /proc/${d.pid}/fd: ${e.message})`);
    }
    return out.join('\n');
}

// A scenario (lib/runs.js: daemon, git root, pipelines dir, OUT dir) with
// a fake forge started first and closed after; on failure the error
// carries the forge's request list.
export async function withForge(t, opts, fn) {
    const forge = await startFakeForge(opts);
    try {
        await scenario(t, async (ctx) => {
            try {
                await fn(ctx, forge);
            } catch (e) {
                addContext(e, `--- fake ${forge.kind} requests (t0 ` +
                    `${new Date(forge.t0).toISOString()}) ---\n` +
                    forge.describe());
                if (e?.code === 'ECONNREFUSED' && ctx.d)
                    addContext(e, daemonSockets(ctx.d));
                throw e;
            }
        });
    } finally {
        await forge.close();
    }
}

const yamlStr = (s) => JSON.stringify(s);

// A pipeline with one step: `gate` waits for $OUT/release-<name> (so a
// test can see the running status before the run ends), `fail` exits 3,
// otherwise it succeeds at once.
export function reportPipeline(ctx, name, { branches = ['main'],
    gate = false, fail = false } = {}) {
    const run = fail ? 'echo "boom on purpose"; exit 3'
        : (gate ? `while [ ! -e "$OUT/release-${name}" ]; do sleep 0.1; done`
            : 'true');
    ctx.pipeline(`${name}.yaml`, `name: ${name}
on:
  push: {branches: ${JSON.stringify(branches)}}
env:
  OUT: ${yamlStr(ctx.out)}
steps:
  - name: work
    run: ${yamlStr(run)}
`);
}

export function releaseGate(ctx, name) {
    fs.writeFileSync(path.join(ctx.out, `release-${name}`), '');
}

// GET /api/v1/outbox[?status=]; the array.
export async function outbox(d, status) {
    const r = await request(`${d.url}/api/v1/outbox${status
        ? `?status=${status}` : ''}`);
    if (r.status !== 200 || !r.json || !Array.isArray(r.json.outbox))
        throw new Error(`GET /api/v1/outbox${status ? `?status=${status}`
            : ''}: ${r.status} ${r.text}`);
    return r.json.outbox;
}

// Waits until nothing is pending in the outbox and the forge has answered
// every request, then for a quiet spell (quietMs) with no new request and
// nothing pending: a duplicate or a retry loop would show up there.
export async function settle(d, forge, { quietMs = 2000,
    timeoutMs = 120_000 } = {}) {
    const t0 = Date.now();
    for (;;) {
        await waitFor('the outbox to have nothing pending', async () => {
            const rows = await outbox(d, 'pending');
            return rows.length === 0 &&
                forge.requests.every((r) => r.answer !== null);
        }, { timeoutMs, describe: async () => JSON.stringify(
            await outbox(d)) });
        const n = forge.requests.length;
        await sleep(quietMs);
        if (forge.requests.length === n &&
            (await outbox(d, 'pending')).length === 0)
            return;
        if (Date.now() - t0 > timeoutMs)
            throw new Error('the outbox never settled: requests keep coming');
    }
}

// GitHub keeps 140 characters of a description; paved cuts with "…" and
// flattens control characters.
export function cut140(s) {
    const cps = [...s.replace(/[\u0000-\u001f\u007f]/g, ' ')];
    return cps.length <= 140 ? cps.join('')
        : `${cps.slice(0, 139).join('')}…`;
}

// paved's run state as GitHub shows it
export const githubStateOf = (runState) => ({ success: 'success',
    failure: 'failure', error: 'error', cancelled: 'error',
    running: 'pending', queued: 'pending' })[runState];

// Problems with what the forge shows after runs ended: for each run, its
// context on its commit shows the run's final state (GitHub's name) with
// the run's link; the order per run is never final-then-pending; at most
// maxPerContext requests reached the forge per context.
export function finalProblems(forge, runs, { maxPerContext = 10,
    publicUrl } = {}) {
    const out = [];
    const shown = forge.shown();
    // the newest run of each context decides what it must show
    const newest = new Map();
    for (const r of runs) {
        const k = `${r.repo}@${r.sha} paved/${r.pipeline}`;
        if (!newest.has(k) || newest.get(k).id < r.id)
            newest.set(k, r);
    }
    for (const [k, r] of newest) {
        const s = shown.get(k);
        const want = githubStateOf(r.state);
        if (!s)
            out.push(`${k}: the forge shows nothing, want ${want}`);
        else if (s.state !== want)
            out.push(`${k}: the forge shows ${s.state} (#${s.seq}), want ` +
                `${want} (run ${r.id} ${r.state})`);
        else if (publicUrl &&
            s.target_url !== `${publicUrl}/api/v1/runs/${r.id}`)
            out.push(`${k}: target_url ${s.target_url}, want run ${r.id}`);
    }
    // order per run (a context's row is reused by a newer run of it)
    const perRun = byContext(forge.statuses().map((s) => ({ ...s,
        context: `${s.context} ${s.target_url ?? ''}` })));
    for (const p of orderProblems([...perRun.values()].flat()))
        out.push(p);
    for (const [k, list] of byContext(forge.statuses())) {
        if (list.length > maxPerContext)
            out.push(`${k}: ${list.length} requests (more than ` +
                `${maxPerContext}: a retry loop?)`);
    }
    return out;
}

// Retries of the same state after a failed answer must wait the backoff
// (2 s base, -25 % jitter): pairs of consecutive requests of one context
// with the same state and description, the first answered with something
// other than 2xx, closer than minGapMs.
export function hotRetries(forge, { minGapMs = 1400 } = {}) {
    const out = [];
    for (const [k, list] of byContext(forge.statuses())) {
        for (let i = 1; i < list.length; i++) {
            const a = list[i - 1];
            const b = list[i];
            const failed = a.answer === 'closed' || a.answer === null ||
                a.answer.clientGone || a.answer.status >= 300;
            if (failed && a.state === b.state &&
                a.description === b.description &&
                b.time - (a.answeredAt ?? a.time) < minGapMs)
                out.push(`${k}: #${b.seq} ${b.time - (a.answeredAt ??
                    a.time)} ms after #${a.seq} failed`);
        }
    }
    return out;
}
