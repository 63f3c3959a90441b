/** The image pipeline: inspect, checksum, convert, import/export. */
export { inspect, assertSafe, IMAGE_FORMATS, DEFAULT_MAX_VIRTUAL_SIZE, type Inspection, type InspectOptions, type ImageFormat, type Signature } from './inspect.js';
export { UnsafeImage, FormatMismatch, ImageTooLarge, CorruptImage, ChecksumMismatch } from './errors.js';
export { fileSource, bufferSource, streamSource, httpSource, type ImageSource } from './source.js';
export { importIntoRbd, type PipelineOptions, type PipelineResult, type RbdTarget } from './importer.js';
export { HASH_ALGORITHMS, type HashAlgorithm } from './checksum.js';
export type { SourceReader } from './source.js';
export { parseQcow2Header, readClusterMap, MAX_DATA_RUNS, type Qcow2Header, type ClusterMap, type ClusterMapLimits, type DataRun } from './qcow2.js';
export type { QemuLimits } from './qemu.js';
