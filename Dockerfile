# One image recipe for the four services and the web front: pick one with the build argument SERVICE.
#
#   docker build --build-arg SERVICE=payment --build-arg PORT=3001 -t troupe-payment .
#
# (docker compose passes both; see docker-compose.yml.) Needs BuildKit, the default builder
# since Docker 23, for the cache mount that keeps pnpm's store between builds.
#
# The base image is pinned to an exact Node release on a fixed Debian release, in both stages,
# so that a rebuild next month runs the same runtime; bump it on purpose (test/compose.unit.test.ts
# fails on an unpinned FROM).

# --- build: install every workspace dependency, compile, then cut a production-only tree ------
FROM node:24.21.0-bookworm-slim AS build

ARG SERVICE
ARG PORT
# Fail early, with a message, on a missing or misspelt build argument.
# SERVICE=cli is the operator CLI (shared/cli: `troupe dlq`, `troupe load`), which listens on nothing.
RUN case "${SERVICE}" in \
      order|payment|inventory|notification|web|cli) ;; \
      *) echo "build with --build-arg SERVICE=order|payment|inventory|notification|web|cli (got '${SERVICE}')" >&2; exit 1 ;; \
    esac \
 && case "${SERVICE}:${PORT}" in \
      cli:*) ;; \
      *: | *:*[!0-9]*) echo "build with --build-arg PORT=<the port ${SERVICE} listens on> (got '${PORT}')" >&2; exit 1 ;; \
    esac

# Corepack cannot verify pnpm's signatures here, so pnpm comes from npm, pinned like package.json's
# "packageManager".
RUN npm install --global pnpm@10.34.9

WORKDIR /src

# The lockfile alone is enough for `pnpm fetch`: this layer (the slow, networked one) is reused
# until a dependency changes, whatever happens to the sources.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc package.json ./
RUN --mount=type=cache,id=troupe-pnpm-store,target=/pnpm/store \
    pnpm fetch --frozen-lockfile --store-dir /pnpm/store

COPY . .
RUN --mount=type=cache,id=troupe-pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --offline --store-dir /pnpm/store

# The service and the workspace packages it references are compiled into their own dist/
# (.dockerignore keeps the host's dist/ and *.tsbuildinfo out, so this is always a clean build).
# Building services/$SERVICE, not the root solution, compiles exactly what this image ships.
RUN pnpm exec tsc --build "$(if [ "${SERVICE}" = cli ]; then echo shared/cli; else echo "services/${SERVICE}"; fi)"

# A self-contained copy of the service: its "files" (dist, migrations), its production
# dependencies, and the workspace packages it uses copied in (with their own "files", so
# @troupe/messaging's migrations come along). pnpm 10 needs --legacy unless the workspace sets
# inject-workspace-packages.
RUN --mount=type=cache,id=troupe-pnpm-store,target=/pnpm/store \
    pnpm --filter "@troupe/${SERVICE}" deploy --prod --legacy --offline --store-dir /pnpm/store /prod/app

# --- runtime: the same base, the production tree, nothing else ---------------------------------
FROM node:24.21.0-bookworm-slim AS runtime

ARG SERVICE
# The port this service listens on; compose passes the same value it sets in PORT.
ARG PORT

LABEL org.opencontainers.image.title="troupe-${SERVICE}" \
      org.opencontainers.image.description="troupe ${SERVICE} service" \
      org.opencontainers.image.licenses="MIT"

# HOST: a container has to listen on every interface to be reachable (the services default to
# loopback, which is right on a developer's machine). No secrets here: credentials come from the
# environment at run time.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=${PORT}

WORKDIR /app
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
