# syntax=docker/dockerfile:1
# nest-m2m: build with dev dependencies, run on Node 24 LTS with production dependencies only.
# test/production-image.spec.ts reproduces the runtime stage without a Docker engine (same npm ci
# command, same CMD, same HEALTHCHECK); keep them in step. Pin by digest too in your registry
# mirror (node:24.22.3-bookworm-slim@sha256:…) for byte-for-byte rebuilds.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/auth/package.json ./libs/auth/
COPY libs/dev-issuer/package.json ./libs/dev-issuer/
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY libs ./libs
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/auth/package.json ./libs/auth/
# The service and the one workspace it runs on (@nest-m2m/auth, linked as node_modules/@nest-m2m/auth);
# the dev issuer (a devDependency, loaded only in embedded mode) is not installed at all.
# --omit=optional too: typescript is an optional peer of @nestjs/swagger (for its CLI plugin), which
# npm would otherwise keep although it is a devDependency here.
# Source maps and TypeScript sources/declarations in node_modules are never loaded at run time (Node
# does not strip types under node_modules): ~32 MB of the ~70 MB, removed in the same layer.
RUN npm ci --omit=dev --omit=optional --workspace=@nest-m2m/auth --include-workspace-root --ignore-scripts --no-audit --no-fund && npm cache clean --force \
  && find node_modules -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete
COPY --from=build /app/libs/auth/dist ./libs/auth/dist
COPY --from=build /app/dist ./dist
# The image's unprivileged `node` user (uid 1000); the app writes nothing to disk.
USER node
EXPOSE 3000
# No curl in slim images: Node's own fetch. Liveness only; orchestrators probe /health/ready for traffic.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; the app drains in-flight requests, closes
# Redis and timers, and exits 0 within SHUTDOWN_TIMEOUT_MS (default 10 s; keep the orchestrator's
# grace period longer). `docker run --init` adds tini as PID 1 if you also want zombie reaping.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
