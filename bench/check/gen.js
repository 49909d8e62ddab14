#!/usr/bin/env node
// bench/check/gen.js: writes the repository that bench/check runs
// `paved check` (and the yamllint peer) over: a monorepo of M services
// (default 500) in N/25 teams, laid out as teams lay one out:
//
//   deploy/<team>/<service>.yaml      one multi-document manifest per
//                                     service: Deployment, Service, HPA,
//                                     PDB, NetworkPolicy (the first service
//                                     of a team also carries the Namespace
//                                     and its default-deny NetworkPolicy)
//   services/<team>/<service>/        Dockerfile (multi-stage) and the
//                                     service's Go, Python or TypeScript
//                                     sources (S / M files each, default
//                                     5,000 in all), sizes drawn from a
//                                     log-normal (median ~120 lines)
//
// Everything is clean (paved finds nothing) except the plants: a list of
// services, chosen by the seed, each given exactly one mistake a team
// makes (the liveness probe of a service that migrates at start, a
// `:latest` image, a leaked AWS key in settings.py, ...), each expected to
// yield exactly one finding of one rule. The clean sources also hold
// near misses a secret scanner must not flag (credentials read from the
// environment, SHA-256 test vectors, UUIDs, placeholders).
//
// Deterministic: the same seed and sizes give the same bytes. The secrets
// are random strings of the right shape, made up here; none is real.
//
// Usage: bench/check/gen.js DIR [--services 500] [--sources 5000]
//        [--seed 1]   (DIR must not exist; prints the plan as JSON)
// As a module: generate(dir, {services, sources, seed}) -> plan
'use strict';

const fs = require('node:fs');
const path = require('node:path');

// ------------------------------------------------------------ randomness

// mulberry32: small, fast, good enough to pick words; seedable.
function rng(seed) {
    let a = seed >>> 0;
    const next = () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const R = {
        next,
        int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
        pick: (xs) => xs[Math.floor(next() * xs.length)],
        chance: (p) => next() < p,
        // standard normal (Box-Muller)
        normal: () => {
            const u = Math.max(next(), 1e-12);
            return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
        },
        chars: (alphabet, n) => {
            let s = '';
            for (let i = 0; i < n; i++)
                s += alphabet[Math.floor(next() * alphabet.length)];
            return s;
        },
        shuffle: (xs) => {
            const a = [...xs];
            for (let i = a.length - 1; i > 0; i--) {
                const j = Math.floor(next() * (i + 1));
                [a[i], a[j]] = [a[j], a[i]];
            }
            return a;
        },
    };
    return R;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = `${ALNUM}+/`;
const HEX = '0123456789abcdef';

// ------------------------------------------------------------ words

const TEAMS = ['payments', 'orders', 'catalog', 'search', 'identity',
    'billing', 'shipping', 'inventory', 'pricing', 'reviews', 'messaging',
    'analytics', 'ledger', 'fraud', 'loyalty', 'media', 'checkout',
    'accounts', 'support', 'partners', 'tax', 'returns', 'warehouse',
    'notifications', 'platform'];
const NOUNS = ['order', 'payment', 'invoice', 'customer', 'shipment', 'cart',
    'account', 'refund', 'product', 'price', 'coupon', 'session', 'review',
    'address', 'parcel', 'ledger', 'entry', 'batch', 'report', 'webhook',
    'subscription', 'plan', 'quote', 'tenant', 'device', 'message', 'ticket',
    'stock', 'reservation', 'carrier', 'rate', 'receipt', 'dispute', 'label',
    'token', 'export', 'job', 'schedule', 'region', 'merchant'];
const VERBS = ['create', 'update', 'fetch', 'list', 'delete', 'validate',
    'sync', 'reconcile', 'publish', 'archive', 'resolve', 'apply', 'compute',
    'load', 'store', 'notify', 'schedule', 'cancel', 'retry', 'export',
    'import', 'match', 'enrich', 'merge', 'split', 'approve', 'reject'];
const ADJ = ['pending', 'active', 'expired', 'failed', 'settled', 'open',
    'closed', 'draft', 'partial', 'stale', 'primary', 'remote', 'local'];
const SUFFIX = ['api', 'worker', 'gateway', 'service', 'sync', 'indexer',
    'scheduler', 'exporter', 'consumer', 'proxy', 'admin', 'web'];

// Shannon entropy in bits per character.
function entropy(s) {
    const n = {};
    for (const c of s)
        n[c] = (n[c] || 0) + 1;
    let e = 0;
    for (const k of Object.keys(n))
        e -= (n[k] / s.length) * Math.log2(n[k] / s.length);
    return e;
}
// A random credential that any scanner calls random: a draw with
// repeated characters can fall under an entropy threshold, and one with
// long runs of letters reads like words (paved's generic rule takes
// "sk_live_TYFPLOpzbxcUEYXDORGZuu7k" for a name): redraw those, so that
// the expected findings do not depend on the seed.
function credential(R, alphabet, n) {
    for (;;) {
        const s = R.chars(alphabet, n);
        const digits = s.replace(/[^0-9]/g, '').length;
        if (entropy(s) >= Math.min(4.0,
            Math.log2(Math.min(n, alphabet.length)) - 0.4) &&
            digits >= Math.ceil(n / 6) && !/[A-Za-z]{6}/.test(s))
            return s;
    }
}

const cap = (s) => s[0].toUpperCase() + s.slice(1);
const camel = (...ws) => ws[0] + ws.slice(1).map(cap).join('');
const pascal = (...ws) => ws.map(cap).join('');
const snake = (...ws) => ws.join('_');

// ------------------------------------------------------------ manifests

// One service's manifest: a multi-document file. Plants change one thing.
function manifest(R, svc, plant) {
    const { team, name, first, worker } = svc;
    const ver = `${R.int(1, 4)}.${R.int(0, 30)}.${R.int(0, 12)}`;
    const replicas = R.int(2, 4);
    const port = R.pick([8080, 8000, 3000, 9090]);
    const migrates = svc.migrates;
    const budget = migrates ? R.pick([300, 600, 900]) : 0;
    const image = plant === 'k8s.image-pinned'
        ? `registry.example.com/${team}/${name}:latest`
        : `registry.example.com/${team}/${name}:${ver}`;
    const sidecar = R.chance(0.3);
    const out = [];
    const d = (s) => out.push(s);

    if (first) {
        d(`apiVersion: v1
kind: Namespace
metadata:
  name: ${team}
  labels:
    team: ${team}
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: ${team}
spec:
  podSelector: {}
  policyTypes:
    - Ingress
---`);
    }
    const ann = [`    app.kubernetes.io/managed-by: argocd`];
    if (migrates)
        ann.push(`    paved.dev/startup-seconds: "${budget}"`);
    d(`# ${name}: owned by team ${team}; deployed by Argo CD from this file.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${team}
  labels:
    app: ${name}
    app.kubernetes.io/name: ${name}
    app.kubernetes.io/part-of: ${team}
    app.kubernetes.io/version: "${ver}"
  annotations:
${ann.join('\n')}
spec:
  replicas: ${replicas}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
        app.kubernetes.io/name: ${name}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "${port}"
    spec:
      serviceAccountName: ${name}
      terminationGracePeriodSeconds: ${R.pick([30, 45, 60])}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app: ${name}
      containers:
        - name: ${worker ? 'worker' : 'app'}
          image: ${image}
          imagePullPolicy: IfNotPresent`);
    if (migrates)
        d(`          command: ["/bin/sh", "-c"]
          args: ["./migrate up && exec ./${name}"]`);
    else
        d(`          args: ["--log-format=json", "--listen=:${port}"]`);
    d(`          ports:
            - name: http
              containerPort: ${port}
              protocol: TCP
          env:
            - name: SERVICE_NAME
              value: ${name}
            - name: LOG_LEVEL
              value: info
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: http://otel-collector.observability:4317
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef:
                  name: ${name}-db
                  key: url
            - name: GOMEMLIMIT
              valueFrom:
                resourceFieldRef:
                  resource: limits.memory
          envFrom:
            - configMapRef:
                name: ${name}-config`);
    if (plant !== 'k8s.readiness-probe')
        d(`          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 3`);
    if (migrates && plant === 'k8s.liveness-startup') {
        // the outage: liveness kills the container during its migration
        d(`          livenessProbe:
            httpGet:
              path: /livez
              port: http
            initialDelaySeconds: 30
            periodSeconds: 10
            failureThreshold: 3`);
    } else if (migrates) {
        d(`          livenessProbe:
            httpGet:
              path: /livez
              port: http
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          startupProbe:
            httpGet:
              path: /livez
              port: http
            periodSeconds: 10
            failureThreshold: ${budget / 10}`);
    } else {
        d(`          livenessProbe:
            httpGet:
              path: /livez
              port: http
            initialDelaySeconds: ${R.pick([30, 40, 60])}
            periodSeconds: 15
            timeoutSeconds: 3
            failureThreshold: 3`);
    }
    if (plant === 'k8s.resources')
        d(`          resources:
            requests:
              cpu: ${R.pick([100, 200, 250, 500])}m`);
    else
        d(`          resources:
            requests:
              cpu: ${R.pick([100, 200, 250, 500])}m
              memory: ${R.pick([128, 256, 512])}Mi
            limits:
              memory: ${R.pick([512, 768, 1024])}Mi`);
    if (plant === 'k8s.privilege-escalation')
        d(`          securityContext:
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]`);
    else if (plant === 'k8s.run-as-non-root')
        d(`          securityContext:
            runAsUser: 0   # binds :80 as root
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]`);
    else
        d(`          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]`);
    d(`          volumeMounts:
            - name: tmp
              mountPath: /tmp`);
    if (plant === 'k8s.host-path')
        d(`            - name: docker-sock
              mountPath: /var/run/docker.sock`);
    if (sidecar)
        d(`        - name: envoy
          image: envoyproxy/envoy:v1.${R.int(26, 30)}.${R.int(0, 6)}
          args: ["-c", "/etc/envoy/envoy.yaml", "--log-level", "warn"]
          ports:
            - name: admin
              containerPort: 9901
          readinessProbe:
            httpGet:
              path: /ready
              port: admin
            periodSeconds: 5
          livenessProbe:
            tcpSocket:
              port: admin
            initialDelaySeconds: 30
            periodSeconds: 20${migrates ? `
          startupProbe:
            tcpSocket:
              port: admin
            periodSeconds: 10
            failureThreshold: ${budget / 10}` : ''}
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
            limits:
              memory: 128Mi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: envoy-config
              mountPath: /etc/envoy`);
    d(`      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 256Mi`);
    if (sidecar)
        d(`        - name: envoy-config
          configMap:
            name: ${name}-envoy`);
    if (plant === 'k8s.host-path')
        d(`        - name: docker-sock
          hostPath:
            path: /var/run/docker.sock
            type: Socket`);
    if (!worker)
        d(`---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${team}
  labels:
    app: ${name}
spec:
  type: ClusterIP
  selector:
    app: ${name}
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP`);
    const minR = plant === 'k8s.hpa-replicas' ? 12 : replicas;
    d(`---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: ${name}
  namespace: ${team}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: ${name}
  minReplicas: ${minR}
  maxReplicas: ${R.pick([6, 8, 10])}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: ${R.pick([60, 70, 75])}`);
    if (plant !== 'k8s.pdb')
        d(`---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: ${name}
  namespace: ${team}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: ${name}`);
    if (worker)
        d(`---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  namespace: ${team}
spec:
  podSelector:
    matchLabels:
      app: ${name}
  policyTypes:
    - Ingress
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: observability
      ports:
        - port: http`);
    else
        d(`---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  namespace: ${team}
spec:
  podSelector:
    matchLabels:
      app: ${name}
  policyTypes:
    - Ingress
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: ingress-nginx
        - podSelector:
            matchLabels:
              app.kubernetes.io/part-of: ${team}
      ports:
        - port: http
          protocol: TCP`);
    let text = `${out.join('\n')}\n`;
    if (plant === 'k8s.yaml-syntax') {
        // a hand edit gone wrong, in the last document (the service's own
        // NetworkPolicy, so no other rule depends on it): a value with an
        // unquoted ": " in it
        const at = text.lastIndexOf(`  name: ${name}\n  namespace: ${team}\n`);
        text = `${text.slice(0, at)}  annotations:\n` +
            '    note: allow ingress-nginx: port http only\n' + text.slice(at);
    }
    return text;
}

// ------------------------------------------------------------ Dockerfiles

function dockerfile(R, svc, plant) {
    const { lang, name } = svc;
    const goV = `1.22.${R.int(1, 7)}`;
    const pyV = `3.12.${R.int(1, 6)}`;
    const nodeV = `20.${R.int(11, 17)}.${R.int(0, 1)}`;
    const L = [];
    const add = (s) => L.push(s);
    const user = plant === 'docker.user-root' ? '' : null;
    if (plant === 'docker.single-stage') {
        if (lang === 'go') {
            add(`FROM golang:${goV}-bookworm
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /usr/local/bin/${name} ./cmd/${name}
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/${name}"]`);
        } else if (lang === 'py') {
            add(`FROM python:${pyV}-slim-bookworm
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
USER 10001:10001
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app.main:app"]`);
        } else {
            add(`FROM node:${nodeV}-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build
USER node
CMD ["node", "dist/server.js"]`);
        }
        return `${L.join('\n')}\n`;
    }
    const unpinned = plant === 'docker.image-unpinned';
    add(`# syntax=docker/dockerfile:1.7
# ${name}: built by CI on every push; the final stage runs as non-root.`);
    if (lang === 'go') {
        const base = unpinned ? 'golang:latest' : `golang:${goV}-bookworm`;
        add(`FROM ${base} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \\
    --mount=type=cache,target=/root/.cache/go-build \\
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" \\
      -o /out/${name} ./cmd/${name}

${user === null ? 'FROM gcr.io/distroless/static-debian12:nonroot'
        : `FROM alpine:3.20.${R.int(0, 3)}\n# a shell to debug with\n` +
          'RUN apk add --no-cache ca-certificates curl'}
COPY --from=build /out/${name} /usr/local/bin/${name}`);
        if (plant === 'docker.add-remote')
            add('ADD https://truststore.example.com/ca-bundle.pem ' +
                '/etc/ssl/certs/internal-ca.pem');
        if (plant === 'docker.env-secret')
            add(`ENV STRIPE_API_KEY=sk_live_${credential(R, ALNUM, 24)}`);
        add(user ?? 'USER 65532:65532');
        add(`EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/${name}"]`);
    } else if (lang === 'py') {
        const base = unpinned ? 'python' : `python:${pyV}-slim-bookworm`;
        add(`FROM ${base} AS build
WORKDIR /app
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

FROM python:${pyV}-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels \\
 && groupadd --gid 10001 app && useradd --uid 10001 --gid app app
COPY app/ app/`);
        if (plant === 'docker.add-remote')
            add('ADD https://raw.githubusercontent.com/acme/geo/main/' +
                'regions.json /app/data/regions.json');
        if (plant === 'docker.env-secret')
            add(`ARG SENTRY_AUTH_TOKEN=${credential(R, HEX, 64)}`);
        add(user ?? 'USER 10001:10001');
        add(`EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app.main:app"]`);
    } else {
        const base = unpinned ? 'node:latest' : `node:${nodeV}-bookworm-slim`;
        add(`FROM ${base} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src/ src/
RUN npm run build && npm prune --omit=dev

FROM node:${nodeV}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules node_modules/
COPY --from=build /app/dist dist/`);
        if (plant === 'docker.add-remote')
            add(`ADD https://cdn.example.com/fonts/inter.tar.gz /app/public/`);
        if (plant === 'docker.env-secret')
            add(`ENV NPM_TOKEN=npm_${credential(R, ALNUM, 36)}`);
        add(user ?? 'USER node');
        add(`EXPOSE 3000
CMD ["node", "dist/server.js"]`);
    }
    return `${L.filter((s) => s !== '').join('\n')}\n`;
}

// ------------------------------------------------------------ sources

// Planted secrets: one line each, in a source file of the service's
// language; `rule` is what paved must report for it.
function secretLine(R, lang, rule) {
    const q = (s) => `"${s}"`;
    let v;
    switch (rule) {
    case 'secrets.aws-access-key':
        v = `AKIA${R.chars(`${UPPER}234567`, 16)}`;
        return lang === 'py' ? `AWS_ACCESS_KEY_ID = ${q(v)}`
            : lang === 'go' ? `\tawsAccessKeyID = ${q(v)}`
                : `export const AWS_REGION_KEY_ID = ${q(v)};`;
    case 'secrets.aws-secret-key':
        v = R.chars(B64, 40);
        return lang === 'py' ? `aws_secret_access_key = ${q(v)}`
            : lang === 'go' ? `\tawsSecretAccessKey = ${q(v)}`
                : `  awsSecretAccessKey: ${q(v)},`;
    case 'secrets.github-token':
        v = `ghp_${R.chars(ALNUM, 36)}`;
        return lang === 'py' ? `GITHUB_TOKEN = ${q(v)}  # TODO: move to vault`
            : lang === 'go' ? `\tgithubToken = ${q(v)} // TODO: move to vault`
                : `const githubToken = ${q(v)}; // TODO: move to vault`;
    case 'secrets.slack-token':
        v = `xoxb-${R.chars(DIGITS, 13)}-${R.chars(DIGITS, 13)}-${
            R.chars(ALNUM, 24)}`;
        return lang === 'py' ? `SLACK_BOT = ${q(v)}`
            : lang === 'go' ? `\tslackBot = ${q(v)}`
                : `const slackBot = ${q(v)};`;
    case 'secrets.slack-webhook':
        v = `https://hooks.slack.com/services/T${R.chars(UPPER + DIGITS, 8)}/B${
            R.chars(UPPER + DIGITS, 8)}/${R.chars(ALNUM, 24)}`;
        return lang === 'py' ? `ALERTS_URL = ${q(v)}`
            : lang === 'go' ? `\talertsURL = ${q(v)}`
                : `const alertsUrl = ${q(v)};`;
    case 'secrets.generic-credential':
        v = credential(R, `${ALNUM}!@#%^*`, 22);
        return lang === 'py' ? `DB_PASSWORD = ${q(v)}`
            : lang === 'go' ? `\tdbPassword = ${q(v)}`
                : `const dbPassword = ${q(v)};`;
    default:
        throw new Error(`no secret line for ${rule}`);
    }
}

function pemBlock(R, lang) {
    const lines = [];
    for (let i = 0; i < 25; i++)
        lines.push(R.chars(B64, 64));
    lines.push(R.chars(B64, 28) + '==');
    const body = ['-----BEGIN RSA PRIVATE KEY-----', ...lines,
        '-----END RSA PRIVATE KEY-----'];
    if (lang === 'go')
        return [`// testKey signs tokens in the tests.`,
            'const testKey = `' + body[0], ...body.slice(1, -1),
            body[body.length - 1] + '`', ''];
    if (lang === 'py')
        return ['# signs tokens in the tests', 'TEST_KEY = """' + body[0],
            ...body.slice(1, -1), body[body.length - 1] + '"""', ''];
    return ['// signs tokens in the tests',
        'export const testKey = `' + body[0],
        ...body.slice(1, -1), body[body.length - 1] + '`;', ''];
}

// Lines of code in a language: blocks until the target length.
function goFile(R, svc, rel, target, plantLines) {
    const pkg = path.basename(path.dirname(rel)).replace(/[^a-z]/g, '') ||
        'main';
    const isTest = rel.endsWith('_test.go');
    const L = [];
    const noun = R.pick(NOUNS);
    const N = pascal(noun);
    L.push(`// Package ${pkg} ${R.pick(VERBS)}s ${noun}s for ${svc.name}.`);
    L.push(`package ${pkg}`, '', 'import (', '\t"context"', '\t"errors"',
        '\t"fmt"', '\t"log/slog"', '\t"net/http"', '\t"os"', '\t"time"', '');
    L.push(`\t"github.com/acme/${svc.team}/${svc.name}/internal/store"`);
    if (isTest)
        L.push('\t"testing"');
    L.push(')', '');
    if (plantLines.length) {
        L.push('var (', ...plantLines, ')', '');
    }
    L.push(`// ${N}Service ${R.pick(VERBS)}s ${noun}s and keeps their ` +
        `${R.pick(NOUNS)}s in step.`);
    L.push(`type ${N}Service struct {`, '\tstore  *store.Store',
        '\tclient *http.Client', '\tlog    *slog.Logger',
        `\ttimeout time.Duration`, '}', '');
    L.push(`// New${N}Service reads its settings from the environment; ` +
        'credentials come from the mounted secret, never from code.');
    L.push(`func New${N}Service(st *store.Store, log *slog.Logger) ` +
        `(*${N}Service, error) {`,
    '\ttoken := os.Getenv("API_TOKEN")',
    '\tif token == "" {',
    '\t\treturn nil, errors.New("API_TOKEN is not set")',
    '\t}',
    `\treturn &${N}Service{store: st, log: log, timeout: ` +
        `${R.int(2, 30)} * time.Second,`,
    '\t\tclient: &http.Client{Timeout: 10 * time.Second}}, nil', '}', '');
    while (L.length < target) {
        const v = R.pick(VERBS);
        const n2 = R.pick(NOUNS);
        const a = R.pick(ADJ);
        const k = R.int(0, 5);
        if (k === 0) {
            L.push(`// ${pascal(v, n2)} ${v}s the ${a} ${n2}s of a ${noun}.`,
                `func (s *${N}Service) ${pascal(v, n2)}(ctx context.Context, ` +
                    `id string) ([]${pascal(n2)}, error) {`,
                '\tif id == "" {',
                `\t\treturn nil, errors.New("${noun}: empty id")`,
                '\t}',
                '\tctx, cancel := context.WithTimeout(ctx, s.timeout)',
                '\tdefer cancel()',
                `\trows, err := s.store.${pascal(a, n2)}s(ctx, id)`,
                '\tif err != nil {',
                `\t\treturn nil, fmt.Errorf("${v} ${n2}s of ${noun} %s: %w", ` +
                    'id, err)',
                '\t}',
                `\tout := make([]${pascal(n2)}, 0, len(rows))`,
                '\tfor _, r := range rows {',
                `\t\tif r.State == "${a}" {`,
                '\t\t\tcontinue',
                '\t\t}',
                `\t\tout = append(out, ${pascal(n2)}{ID: r.ID, ` +
                    'CreatedAt: r.CreatedAt})',
                '\t}',
                `\ts.log.InfoContext(ctx, "${v} ${n2}s", "${noun}", id, ` +
                    '"count", len(out))',
                '\treturn out, nil', '}', '');
        } else if (k === 1) {
            L.push(`// ${pascal(n2)} is a ${n2} as the API returns it.`,
                `type ${pascal(n2)} struct {`,
                '\tID        string    `json:"id"`',
                `\t${pascal(noun)}ID string    \`json:"${snake(noun, 'id')}"\``,
                '\tState     string    `json:"state"`',
                `\tAmount    int64     \`json:"amount,omitempty"\``,
                '\tCreatedAt time.Time `json:"created_at"`',
                '\tUpdatedAt time.Time `json:"updated_at"`', '}', '');
        } else if (k === 2) {
            L.push(`func (s *${N}Service) handle${pascal(v)}(w ` +
                    'http.ResponseWriter, r *http.Request) {',
                '\tid := r.PathValue("id")',
                '\tauth := r.Header.Get("Authorization")',
                '\tif auth == "" {',
                '\t\thttp.Error(w, "missing credentials", ' +
                    'http.StatusUnauthorized)',
                '\t\treturn',
                '\t}',
                `\tres, err := s.${pascal(v, n2)}(r.Context(), id)`,
                '\tswitch {',
                '\tcase errors.Is(err, store.ErrNotFound):',
                `\t\thttp.Error(w, "${noun} not found", http.StatusNotFound)`,
                '\tcase err != nil:',
                `\t\ts.log.ErrorContext(r.Context(), "${v}", "err", err)`,
                '\t\thttp.Error(w, "internal error", ' +
                    'http.StatusInternalServerError)',
                '\tdefault:',
                '\t\twriteJSON(w, http.StatusOK, res)',
                '\t}', '}', '');
        } else if (k === 3) {
            L.push(`const ${camel(v, n2, 'query')} = \`` +
                    `SELECT id, state, amount, created_at, updated_at`,
                `FROM ${n2}s`,
                `WHERE ${noun}_id = $1 AND state <> '${a}'`,
                `ORDER BY created_at DESC`,
                `LIMIT $2\``, '');
        } else if (k === 4 && isTest) {
            L.push(`func Test${pascal(v, n2)}(t *testing.T) {`,
                '\tt.Parallel()',
                `\tconst wantDigest = "${R.chars(HEX, 64)}"`,
                `\tid := "${R.chars(HEX, 8)}-${R.chars(HEX, 4)}-4${
                    R.chars(HEX, 3)}-a${R.chars(HEX, 3)}-${R.chars(HEX, 12)}"`,
                `\tsvc := newTest${N}Service(t)`,
                `\tgot, err := svc.${pascal(v, n2)}(context.Background(), id)`,
                '\tif err != nil {',
                '\t\tt.Fatalf("unexpected error: %v", err)',
                '\t}',
                '\tif d := digest(got); d != wantDigest {',
                '\t\tt.Errorf("digest = %s, want %s", d, wantDigest)',
                '\t}', '}', '');
        } else {
            L.push(`func ${camel(v, a, n2)}(items []${pascal(n2)}, ` +
                    'cutoff time.Time) (kept, dropped int) {',
                '\tfor i := range items {',
                '\t\tif items[i].UpdatedAt.Before(cutoff) {',
                '\t\t\tdropped++',
                '\t\t\tcontinue',
                '\t\t}',
                `\t\titems[kept] = items[i]`,
                '\t\tkept++',
                '\t}',
                '\treturn kept, dropped', '}', '');
        }
    }
    return L;
}

function pyFile(R, svc, rel, target, plantLines) {
    const isTest = path.basename(rel).startsWith('test_');
    const L = [];
    const noun = R.pick(NOUNS);
    const N = pascal(noun);
    L.push(`"""${cap(R.pick(VERBS))} ${noun}s for ${svc.name}."""`, '');
    L.push('from __future__ import annotations', '', 'import logging',
        'import os', 'from dataclasses import dataclass, field',
        'from datetime import datetime, timedelta, timezone', '',
        'import httpx');
    if (isTest)
        L.push('import pytest');
    L.push(`from app.db import session_scope`, '', 'log = logging.getLogger(' +
        '__name__)', '');
    if (plantLines.length)
        L.push(...plantLines, '');
    L.push('# credentials come from the environment (the mounted secret)',
        'SECRET_KEY = os.environ["SECRET_KEY"]',
        'API_TOKEN = os.environ.get("API_TOKEN", "")', '');
    while (L.length < target) {
        const v = R.pick(VERBS);
        const n2 = R.pick(NOUNS);
        const a = R.pick(ADJ);
        const k = R.int(0, 4);
        if (k === 0) {
            L.push('', '@dataclass', `class ${pascal(n2)}:`,
                `    """A ${n2} of a ${noun}, as stored."""`, '',
                '    id: str',
                `    ${snake(noun, 'id')}: str`,
                `    state: str = "${a}"`,
                '    amount: int = 0',
                '    tags: list[str] = field(default_factory=list)',
                '    created_at: datetime = field(',
                '        default_factory=lambda: datetime.now(timezone.utc))',
                '');
        } else if (k === 1) {
            L.push('', `def ${snake(v, a, n2)}s(${noun}_id: str, *, ` +
                    'limit: int = 100) -> list[dict]:',
                `    """${cap(v)} the ${a} ${n2}s of one ${noun}."""`,
                `    if not ${noun}_id:`,
                `        raise ValueError("${noun}_id is required")`,
                '    with session_scope() as s:',
                '        rows = s.execute(',
                `            "SELECT id, state, amount FROM ${n2}s "`,
                `            "WHERE ${noun}_id = :id AND state = :state "`,
                '            "ORDER BY created_at DESC LIMIT :limit",',
                `            {"id": ${noun}_id, "state": "${a}", ` +
                    '"limit": limit},',
                '        ).mappings().all()',
                `    log.info("${v} %d ${n2}s", len(rows), ` +
                    `extra={"${noun}_id": ${noun}_id})`,
                '    return [dict(r) for r in rows]', '');
        } else if (k === 2) {
            L.push('', `class ${N}${pascal(v)}Client:`,
                `    """Talks to the ${n2} service."""`, '',
                '    def __init__(self, base_url: str, timeout: float = ' +
                    `${R.int(2, 15)}.0) -> None:`,
                '        self._http = httpx.Client(base_url=base_url, ' +
                    'timeout=timeout)',
                '        self._token = os.environ["SERVICE_TOKEN"]', '',
                `    def ${v}(self, ${n2}_id: str) -> dict:`,
                `        r = self._http.post(f"/v1/${n2}s/{${n2}_id}:${v}",`,
                '                            headers={"Authorization": ' +
                    'f"Bearer {self._token}"})',
                '        r.raise_for_status()',
                '        return r.json()', '');
        } else if (k === 3 && isTest) {
            L.push('', `def test_${snake(v, n2)}_${a}(client, monkeypatch):`,
                '    monkeypatch.setenv("API_TOKEN", "test-token")',
                `    want_sha256 = "${R.chars(HEX, 64)}"`,
                `    request_id = "${R.chars(HEX, 8)}-${R.chars(HEX, 4)}-4${
                    R.chars(HEX, 3)}-b${R.chars(HEX, 3)}-${R.chars(HEX, 12)}"`,
                `    res = client.post("/v1/${n2}s", json={"state": "${a}"},`,
                '                      headers={"X-Request-Id": request_id})',
                '    assert res.status_code == 201',
                '    assert sha256_of(res.json()) == want_sha256', '');
        } else {
            L.push('', `def ${snake(v, n2)}_due(items, now=None):`,
                `    """Which ${n2}s are due for ${v}."""`,
                '    now = now or datetime.now(timezone.utc)',
                `    cutoff = now - timedelta(days=${R.int(1, 90)})`,
                '    due = []',
                '    for item in items:',
                `        if item.state == "${a}" and item.created_at < cutoff:`,
                '            due.append(item)',
                '    return due', '');
        }
    }
    return L;
}

function tsFile(R, svc, rel, target, plantLines) {
    const isTest = rel.endsWith('.test.ts');
    const L = [];
    const noun = R.pick(NOUNS);
    const N = pascal(noun);
    L.push(`import { Router, type Request, type Response } from "express";`,
        `import { z } from "zod";`, `import { db } from "../db";`,
        `import { logger } from "../logger";`);
    if (isTest)
        L.push(`import { describe, expect, it } from "vitest";`);
    L.push('');
    if (plantLines.length)
        L.push(...plantLines, '');
    L.push('// read at start; the secret is mounted by the Deployment',
        'const apiKey = process.env.API_KEY ?? "";',
        'const password = process.env.DB_PASSWORD;', '');
    while (L.length < target) {
        const v = R.pick(VERBS);
        const n2 = R.pick(NOUNS);
        const a = R.pick(ADJ);
        const k = R.int(0, 4);
        if (k === 0) {
            L.push(`export interface ${pascal(n2)} {`, '  id: string;',
                `  ${camel(noun, 'id')}: string;`,
                `  state: "${a}" | "${R.pick(ADJ)}";`,
                '  amount?: number;', '  createdAt: string;', '}', '');
        } else if (k === 1) {
            L.push(`const ${camel(v, n2, 'schema')} = z.object({`,
                `  ${camel(noun, 'id')}: z.string().uuid(),`,
                `  state: z.enum(["${a}", "${R.pick(ADJ)}"]),`,
                `  limit: z.number().int().min(1).max(${R.int(50, 500)})` +
                    '.default(50),', '});', '');
        } else if (k === 2) {
            L.push(`export async function ${camel(v, n2)}s(req: Request, ` +
                    'res: Response): Promise<void> {',
                `  const parsed = ${camel(R.pick(VERBS), n2, 'schema')}` +
                    '.safeParse(req.body);',
                '  if (!parsed.success) {',
                '    res.status(400).json({ error: parsed.error.flatten() });',
                '    return;', '  }',
                `  const rows = await db.${camel(n2)}s.findMany({`,
                `    where: { ${camel(noun, 'id')}: parsed.data.${
                    camel(noun, 'id')}, state: "${a}" },`,
                '    take: parsed.data.limit,', '  });',
                `  logger.info({ count: rows.length }, "${v} ${n2}s");`,
                '  res.json(rows);', '}', '');
        } else if (k === 3 && isTest) {
            L.push(`describe("${v} ${n2}s", () => {`,
                `  it("keeps ${a} ${n2}s", async () => {`,
                `    const etag = "${R.chars(HEX, 40)}";`,
                `    const id = "${R.chars(HEX, 8)}-${R.chars(HEX, 4)}-4${
                    R.chars(HEX, 3)}-8${R.chars(HEX, 3)}-${R.chars(HEX, 12)}";`,
                `    const res = await ${camel(v, n2)}sFor(id, { etag });`,
                `    expect(res.every((r) => r.state === "${a}")).toBe(true);`,
                '  });', '});', '');
        } else {
            L.push(`export function ${camel(v, a, n2)}s<T extends ` +
                    '{ createdAt: string }>(',
                '  items: T[],', '  now = Date.now(),', '): T[] {',
                `  const maxAge = ${R.int(1, 90)} * 24 * 3600 * 1000;`,
                '  return items.filter((i) => now - Date.parse(i.createdAt) ' +
                    '< maxAge);', '}', '');
        }
    }
    return L;
}

const LAYOUT = {
    go: (svc, i) => {
        const dirs = ['internal/api', 'internal/store', 'internal/' + svc.noun,
            'pkg/client', `cmd/${svc.name}`];
        const d = dirs[i % dirs.length];
        const base = i === 4 ? 'main' : NOUNS[(svc.idx + i) % NOUNS.length];
        return `${d}/${base}${i >= 5 && i % 2 === 1 ? '_test' : ''}.go`;
    },
    py: (svc, i) => {
        const d = i >= 7 ? 'tests' : i % 2 ? 'app/services' : 'app';
        const base = NOUNS[(svc.idx + i) % NOUNS.length];
        return i >= 7 ? `${d}/test_${base}.py` : `${d}/${base}.py`;
    },
    ts: (svc, i) => {
        const d = i % 3 === 0 ? 'src/routes' : i % 3 === 1 ? 'src/lib'
            : 'src/models';
        const base = NOUNS[(svc.idx + i) % NOUNS.length];
        return `${d}/${base}${i >= 7 ? '.test' : ''}.ts`;
    },
};
const EXT = { go: 'go', py: 'py', ts: 'ts' };

// ------------------------------------------------------------ plan

// Which services get which single mistake: rule -> how many services.
// Each plant must give exactly one finding of its rule in its file, and
// the extra rules of ALSO (paved reports a credential in a Dockerfile's
// ENV/ARG twice: the Dockerfile rule and the secret scanner's).
const K8S_PLANTS = {
    'k8s.liveness-startup': 10,
    'k8s.image-pinned': 8,
    'k8s.resources': 8,
    'k8s.readiness-probe': 6,
    'k8s.privilege-escalation': 6,
    'k8s.pdb': 5,
    'k8s.hpa-replicas': 4,
    'k8s.run-as-non-root': 4,
    'k8s.host-path': 3,
    'k8s.yaml-syntax': 2,
};
const DOCKER_PLANTS = {
    'docker.single-stage': 5,
    'docker.user-root': 5,
    'docker.image-unpinned': 4,
    'docker.add-remote': 3,
    'docker.env-secret': 3,
};
const ALSO = {
    'docker.env-secret': ['secrets.generic-credential'],
};
const SECRET_PLANTS = {
    'secrets.aws-access-key': 3,
    'secrets.aws-secret-key': 2,
    'secrets.github-token': 3,
    'secrets.slack-token': 2,
    'secrets.slack-webhook': 2,
    'secrets.private-key': 2,
    'secrets.generic-credential': 4,
};

function generate(dir, { services = 500, sources = 5000, seed = 1 } = {}) {
    if (fs.existsSync(dir))
        throw new Error(`${dir} exists: give a new directory`);
    // every plant in a file of its own, with clean services left over
    if (services < 100 || sources < 100)
        throw new Error('at least 100 services and 100 sources');
    const R = rng(seed);
    const teams = Math.max(1, Math.min(TEAMS.length,
        Math.round(services / 20)));
    const svcs = [];
    const used = new Set();
    for (let i = 0; i < services; i++) {
        const team = TEAMS[i % teams];
        let name;
        do {
            name = `${R.pick(NOUNS)}-${R.pick(SUFFIX)}`;
            if (used.has(`${team}/${name}`))
                name = `${name}-${R.int(2, 99)}`;
        } while (used.has(`${team}/${name}`));
        used.add(`${team}/${name}`);
        const r = R.next();
        svcs.push({ idx: i, team, name, first: i < teams,
            lang: r < 0.4 ? 'go' : r < 0.7 ? 'py' : 'ts',
            worker: /worker|consumer|indexer|exporter|scheduler|sync/
                .test(name),
            migrates: R.chance(0.25), noun: R.pick(NOUNS), files: 0,
            k8s: null, docker: null, secret: null });
    }
    // sources spread as evenly as the count allows
    for (let i = 0; i < sources; i++)
        svcs[i % services].files++;

    const expected = {};
    const exp = (rule) => {
        for (const r of [rule, ...(ALSO[rule] || [])])
            expected[r] = (expected[r] || 0) + 1;
    };
    const plants = [];
    // k8s plants: distinct services; never a team's first file (it holds
    // the namespace's default deny: a syntax error there would add
    // network-policy findings for the whole team)
    const pool = R.shuffle(svcs.filter((s) => !s.first));
    let p = 0;
    for (const [rule, n] of Object.entries(K8S_PLANTS)) {
        for (let j = 0; j < n; j++) {
            let s = pool[p++ % pool.length];
            if (rule === 'k8s.liveness-startup' && !s.migrates)
                s.migrates = true;
            s.k8s = rule;
            exp(rule);
            plants.push({ rule, path: `deploy/${s.team}/${s.name}.yaml`,
                expect: [rule] });
        }
    }
    const dpool = R.shuffle(svcs);
    p = 0;
    for (const [rule, n] of Object.entries(DOCKER_PLANTS)) {
        for (let j = 0; j < n; j++) {
            const s = dpool[p++];
            s.docker = rule;
            exp(rule);
            plants.push({ rule,
                path: `services/${s.team}/${s.name}/Dockerfile`,
                expect: [rule, ...(ALSO[rule] || [])] });
        }
    }
    const spool = R.shuffle(svcs.filter((s) => s.files > 0));
    p = 0;
    for (const [rule, n] of Object.entries(SECRET_PLANTS)) {
        for (let j = 0; j < n; j++) {
            spool[p++].secret = rule;
            exp(rule);
        }
    }

    const stats = { manifests: 0, sources: 0, dockerfiles: 0, bytes: 0,
        manifestBytes: 0, sourceBytes: 0, lines: 0 };
    const write = (rel, text) => {
        const f = path.join(dir, rel);
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, text);
        stats.bytes += Buffer.byteLength(text);
        return Buffer.byteLength(text);
    };
    fs.mkdirSync(dir, { recursive: true });
    write('README.md', '# acme monorepo\n\nGenerated by bench/check/gen.js ' +
        `(seed ${seed}): ${services} services, ${sources} source files.\n`);
    for (const s of svcs) {
        const m = manifest(R, s, s.k8s);
        stats.manifestBytes += write(`deploy/${s.team}/${s.name}.yaml`, m);
        stats.manifests++;
        write(`services/${s.team}/${s.name}/Dockerfile`,
            dockerfile(R, s, s.docker));
        stats.dockerfiles++;
        const plantAt = s.secret ? R.int(0, s.files - 1) : -1;
        for (let i = 0; i < s.files; i++) {
            const rel = LAYOUT[s.lang](s, i);
            // log-normal sizes: median ~120 lines, long tail, 15..2500
            const target = Math.max(15, Math.min(2500,
                Math.round(Math.exp(Math.log(120) + 0.85 * R.normal()))));
            let plantLines = [];
            if (i === plantAt) {
                plantLines = s.secret === 'secrets.private-key'
                    ? pemBlock(R, s.lang) : [secretLine(R, s.lang, s.secret)];
            }
            const fn = s.lang === 'go' ? goFile : s.lang === 'py' ? pyFile
                : tsFile;
            const lines = fn(R, s, rel, target, plantLines);
            const text = `${lines.join('\n')}\n`;
            let f = `services/${s.team}/${s.name}/${rel}`;
            // a layout slot used twice gets a numbered name
            for (let k = 2; fs.existsSync(path.join(dir, f)); k++) {
                f = `services/${s.team}/${s.name}/${rel.replace(
                    `.${EXT[s.lang]}`, `_${k}.${EXT[s.lang]}`)}`;
            }
            stats.sourceBytes += write(f, text);
            stats.lines += lines.length;
            stats.sources++;
            if (i === plantAt)
                plants.push({ rule: s.secret, path: f,
                    expect: [s.secret] });
        }
    }
    return { seed, services, teams, stats, expected, plants };
}

module.exports = { generate };

if (require.main === module) {
    const args = process.argv.slice(2);
    const opts = {};
    let dir;
    for (let i = 0; i < args.length; i++) {
        const m = args[i].match(/^--(services|sources|seed)$/);
        if (m && i + 1 < args.length && /^[0-9]+$/.test(args[i + 1]))
            opts[m[1]] = Number(args[++i]);
        else if (!args[i].startsWith('-') && dir === undefined)
            dir = args[i];
        else {
            process.stderr.write('usage: gen.js DIR [--services N] ' +
                '[--sources N] [--seed N]\n');
            process.exit(2);
        }
    }
    if (dir === undefined) {
        process.stderr.write('usage: gen.js DIR [--services N] ' +
            '[--sources N] [--seed N]\n');
        process.exit(2);
    }
    try {
        const plan = generate(dir, opts);
        process.stdout.write(`${JSON.stringify(plan, null, 1)}\n`);
    } catch (e) {
        process.stderr.write(`gen.js: ${e.message}\n`);
        process.exit(1);
    }
}
