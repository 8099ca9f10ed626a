# One image recipe for the four services, the web front, the card gateway and the operator CLI: pick one with the
# build argument SERVICE (SERVICE=cli is shared/cli, `troupe dlq` and `troupe load`, which listens
# on nothing and needs no PORT).
#
#   docker build --build-arg SERVICE=payment --build-arg PORT=3001 -t troupe-payment .
#
# (docker compose passes both; see docker-compose.yml.) Everything before the last stages is the
# same for the four services, so building all four downloads and compiles once. BuildKit (the
# default builder since Docker 23) also checks the arguments while it downloads.
#
# The base image is pinned to an exact Node release on a fixed Debian release, in every stage,
# so that a rebuild next month runs the same runtime; bump it on purpose (test/compose.tools.test.ts
# fails on an unpinned FROM).

# --- arguments: checked in a stage of their own, which BuildKit runs beside the slow steps -----
# (so a missing or misspelt argument fails at once) while the dependency layers below never see
# SERVICE or PORT, and stay one and the same for the four images.
FROM node:24.21.0-bookworm-slim AS arguments
ARG SERVICE
ARG PORT
RUN case "${SERVICE}" in \
      gateway|order|payment|inventory|notification|observer|web|cli) ;; \
      *) echo "build with --build-arg SERVICE=gateway|order|payment|inventory|notification|observer|web|cli (got '${SERVICE}')" >&2; exit 1 ;; \
    esac \
 && case "${SERVICE}:${PORT}" in \
      cli:*) ;; \
      *: | *:*[!0-9]*) echo "build with --build-arg PORT=<the port ${SERVICE} listens on> (got '${PORT}')" >&2; exit 1 ;; \
    esac \
 && echo "${SERVICE} ${PORT}" > /arguments

# --- workspace: every dependency and every service compiled; identical for the four images -----
FROM node:24.21.0-bookworm-slim AS workspace

# Corepack cannot verify pnpm's signatures here, so pnpm comes from npm, pinned like package.json's
# "packageManager".
RUN npm install --global pnpm@10.34.9

WORKDIR /src

# The lockfile alone is enough for `pnpm fetch`: this layer (the slow, networked one) is reused
# until a dependency changes, whatever happens to the sources. The store is part of the layer,
# not a cache mount, so the offline steps below can never find it pruned.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc package.json ./
RUN pnpm fetch --frozen-lockfile --store-dir /pnpm/store

COPY . .
RUN pnpm install --frozen-lockfile --offline --store-dir /pnpm/store

# The services, the web front, the CLI and the workspace packages they reference, into their own
# dist/ (.dockerignore keeps the host's dist/ and *.tsbuildinfo out, so this is always a clean build).
RUN pnpm exec tsc --build services/order services/payment services/inventory services/notification services/gateway services/observer services/web shared/cli

# --- build: one service cut out of the workspace ------------------------------------------------
FROM workspace AS build
COPY --from=arguments /arguments /arguments
ARG SERVICE

# A self-contained copy of the service: its "files" (dist, migrations), its production
# dependencies at the lockfile's versions, and the workspace packages it uses copied in (with
# their own "files", so @troupe/messaging's migrations come along). Injecting workspace packages
# for this command only lets deploy derive its lockfile from the workspace's and install offline
# from the store (docs/decisions/0008-images-built-and-run-by-the-tests.md); the workspace itself
# keeps linking its packages, so a rebuild of shared/ is seen at once in development. The
# pnpm-lock.yaml deploy writes stays in the image: it names every package and version inside,
# for a vulnerability scanner.
RUN pnpm --config.inject-workspace-packages=true --filter "@troupe/${SERVICE}" \
      deploy --prod --offline --store-dir /pnpm/store /prod/app

# --- runtime: the same base, the production tree, nothing else ---------------------------------
FROM node:24.21.0-bookworm-slim AS runtime

# HOST: a container has to listen on every interface to be reachable (the services default to
# loopback, which is right on a developer's machine). No secrets here: credentials come from the
# environment at run time.
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app

ARG SERVICE
# The port this service listens on; compose passes the same value it sets in PORT.
ARG PORT

LABEL org.opencontainers.image.title="troupe-${SERVICE}" \
      org.opencontainers.image.description="troupe ${SERVICE} service" \
      org.opencontainers.image.licenses="MIT"
ENV PORT=${PORT}

# Owned by root and only readable by the process, which runs as the image's unprivileged `node`
# user (uid 1000): the service cannot rewrite its own code (compose also mounts / read-only).
COPY --from=build /prod/app ./

USER node
EXPOSE ${PORT}

# The same command as the services' package.json "start" script (the test checks they agree):
# OpenTelemetry is loaded with --import before the service, so it can patch http, express, pg
# and pino first. No npm/pnpm wrapper in between, so SIGTERM reaches node and the graceful
# shutdown runs. The heap is bounded (old space 160 MB, young semi-spaces 4 MB): the live heap
# under load is ~40-60 MB, and without a bound V8 lets garbage pile up to 200 MB RSS before it
# collects (docs/decisions/0007-memory-bounds.md).
CMD ["node", "--enable-source-maps", "--max-old-space-size=160", "--max-semi-space-size=4", "--import", "./dist/instrumentation.js", "dist/main.js"]
