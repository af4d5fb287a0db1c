# driftgate image: compiled JavaScript on the current Node LTS, production dependencies only, non-root.
# Build: docker build -t driftgate:0.1.0 .   (the tag is package.json's version, as in deploy/base)
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency would fetch a second Node; the image's Node 24 compiles.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node_modules/.bin/tsc -p tsconfig.build.json

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
# All interfaces: the kubelet's probes and the API server reach the pod on its IP (`npm start` binds
# localhost). --host or DRIFTGATE_HOST in the pod spec overrides it.
ENV NODE_ENV=production DRIFTGATE_HOST=0.0.0.0
# glibc's malloc: two arenas for all of Node's threads, and freed memory at the top of the heap above
# 128 KiB given back; ~2.5 MiB less RSS (docs/benchmarks.md: memory). `npm start` and the benchmarks set it too.
ENV GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY examples ./examples
# `docker run driftgate:VERSION` with no arguments writes its journal, keys and dev certificates to
# ./data and ./certs: owned by the image's user, everything else stays root-owned and read-only.
# In a cluster both are volumes (deploy/base/deployment.yaml: --data-dir, --certs-dir).
RUN mkdir -m 0700 data certs && chown 10001:10001 data certs
USER 10001:10001
EXPOSE 8443 9090
# The same runtime flags as `npm start` (docs/benchmarks.md: memory); Kubernetes probes, no HEALTHCHECK.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--no-concurrent-recompilation", "--no-maglev", "--no-parallel-scavenge", "dist/main.js"]
CMD ["serve"]
