// The S3 client loads on first use: a drill without an S3 store never pays for it (the MongoDB
// driver loads the same way, in engines/mongodb/client.ts).
let minio: Promise<typeof import('minio')> | undefined;

export const loadMinio = (): Promise<typeof import('minio')> => (minio ??= import('minio'));
