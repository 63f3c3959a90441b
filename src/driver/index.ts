/** The driver: Nova's RBD image backend job, hardened. */
export { RbdDriver, featureNames, type DriverOptions, type ImageMeta, type SnapInfo, type ParentRef, type ImageInfo } from './driver.js';
export { ImageUnacceptable, parseRbdUrl, formatRbdUrl, type RbdLocation } from './url.js';
export { VolumeBusy, CleanupFailed, type DestroyOptions, type DestroyResult, type CleanupOptions, type CleanupEntry, type VolumeFilter } from './destroy.js';
export { DEFAULT_RETRY, type RetryPolicy, type RetryEvent } from './retry.js';
export type { CloneOptions as DriverCloneOptions, CloneResult } from './clone.js';
export type { PoolInfo, MonAddrs, Monitor, MonAddress } from './cluster-info.js';
export type { ImportSource, ImportResult, ExportResult, ExportOptions, TransferOptions } from './transfer.js';
export type { CloneDepthPolicy, Placement } from './context.js';
export type { Logger } from './logging.js';
