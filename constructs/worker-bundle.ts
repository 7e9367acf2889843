/**
 * What the constructs upload as a worker's code: a bundled ES module on disk and its hash. The bundler
 * (`bundler/worker-bundles.ts`) produces these; the constructs only read them, so they depend on no build step.
 */

/** One bundled worker. */
export interface WorkerBundle {
  /** absolute path of the bundled ES module */
  readonly path: string;
  /** hex SHA-256 of the bundle's bytes, as the provider's `content_sha256` expects */
  readonly sha256: string;
  /** the module file name the script is uploaded as (`main_module`) */
  readonly mainModule: string;
}

/** The bundles of both workers, as a prod deployment uploads them. */
export interface WorkerBundles {
  readonly shard: WorkerBundle;
  readonly orchestrator: WorkerBundle;
}
