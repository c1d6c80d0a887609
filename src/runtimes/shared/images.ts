import { readFileSync } from 'node:fs';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import type { EngineName, StoreSpec } from '../../drill/types.ts';
import { serverOf } from '../hosted.ts';

export interface ResolvedImage {
  image: string;
  /** Where the choice came from, for the plan and the report. */
  source: string;
}

/** `RESTOREPROOF_IMAGE_POSTGRES`, `RESTOREPROOF_IMAGE_MONGODB`, `RESTOREPROOF_IMAGE_S3`, `RESTOREPROOF_IMAGE_REDIS`. */
export const imageEnvVar = (engine: EngineName) => `RESTOREPROOF_IMAGE_${engine.toUpperCase()}`;

const mapCache = new Map<string, Record<string, string>>();

/**
 * An image map file is JSON: `{ "postgres": "mirror.example/postgres:{version}", "postgres:15": "…", "s3": "…" }`.
 * A key `<engine>:<version>` wins over `<engine>`.
 */
export function readImageMap(file: string): Record<string, string> {
  let map = mapCache.get(file);
  if (map) return map;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
      throw new Error('must be a JSON object of engine (or engine:version) to image name');
    }
    map = parsed as Record<string, string>;
  } catch (err) {
    throw new RestoreproofError('E_IMAGE_MAP', `image map ${file}: ${errorMessage(err)}`, { exitCode: 2, hint: 'e.g. {"postgres": "registry.example/postgres:{version}", "redis": "redis:7"}' });
  }
  mapCache.set(file, map);
  return map;
}

/** The image a store runs: the drill's `image`, else RESTOREPROOF_IMAGE_<ENGINE>, else the image map, else the official image. */
export function resolveImage(spec: StoreSpec, env: Record<string, string | undefined> = process.env): ResolvedImage {
  const version = spec.version;
  const fill = (template: string) => template.replaceAll('{version}', version ?? 'latest');
  if (spec.image) return { image: fill(spec.image), source: 'the drill (image)' };
  const fromEnv = env[imageEnvVar(spec.engine)];
  if (fromEnv) return { image: fill(fromEnv), source: imageEnvVar(spec.engine) };
  const mapFile = env.RESTOREPROOF_IMAGE_MAP;
  if (mapFile) {
    const map = readImageMap(mapFile);
    const hit = (version && map[`${spec.engine}:${version}`]) || map[spec.engine];
    if (hit) return { image: fill(hit), source: `image map ${mapFile}` };
  }
  // The engine's official image; `{version}` is the store's version, or `latest`.
  const official = serverOf(spec.engine, 'container', 'containers or kubernetes').image;
  return { image: fill(version ? official.versioned : official.latest), source: 'default' };
}

/** For plans: the store's image, or the one line that says why it cannot be chosen (a broken image map). */
export function describedImage(spec: StoreSpec): ResolvedImage | { problem: string } {
  try {
    return resolveImage(spec);
  } catch (err) {
    return { problem: `!! ${errorMessage(err)}` };
  }
}

/** Where `spec.app.cwd` is copied inside the app's container or pod; it is the working directory there. */
export const appRoot = '/srv/app';
/** The port the app listens on inside its container or pod when spec.app.port is not set. */
export const defaultAppPort = 8080;

/** The app's default image when spec.app names none: a Node image, since a bare `node …` command is the common case. */
export const defaultAppImage = 'node:24-slim';

/** The image `spec.app` (or its migration) runs: its `image`, else RESTOREPROOF_IMAGE_APP, else the image map's `app`, else node:24-slim. */
export function resolveAppImage(spec: { image?: string }, env: Record<string, string | undefined> = process.env): ResolvedImage {
  if (spec.image) return { image: spec.image, source: 'the drill (spec.app.image)' };
  return helperImage('app', defaultAppImage, env);
}

/** The image of the init container that downloads a `fetch: pod` artefact: it needs sh, curl or wget, and sha256sum. */
export const defaultFetchImage = 'curlimages/curl:8.11.1';

/** RESTOREPROOF_IMAGE_FETCH, else the image map's `fetch`, else curlimages/curl. */
export function resolveFetchImage(env: Record<string, string | undefined> = process.env): ResolvedImage {
  return helperImage('fetch', defaultFetchImage, env);
}

function helperImage(role: 'app' | 'fetch', fallback: string, env: Record<string, string | undefined>): ResolvedImage {
  const variable = `RESTOREPROOF_IMAGE_${role.toUpperCase()}`;
  if (env[variable]) return { image: env[variable], source: variable };
  const mapFile = env.RESTOREPROOF_IMAGE_MAP;
  const hit = mapFile ? readImageMap(mapFile)[role] : undefined;
  if (hit) return { image: hit, source: `image map ${mapFile}` };
  return { image: fallback, source: 'default' };
}
