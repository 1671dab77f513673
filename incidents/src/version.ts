/**
 * This package's release, named in every machine-made event (`machine:incidents@<version>`).
 * A constant rather than a read of package.json: the JSON sits outside rootDir and the build
 * would have to copy it; a test keeps the two equal.
 */
export const INCIDENTS_VERSION = '0.1.0';
