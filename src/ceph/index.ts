/** The typed librados/librbd API. */
export * from './errors.js';
export { Errno, errnoName } from './errno.js';
export { Rados, DEFAULT_TIMEOUTS, entityName, type ConnectOptions, type Timeouts, type ClusterStats, type MonCommandResult } from './rados.js';
export { IoCtx, validatePoolName, type PoolStats } from './ioctx.js';
export { Rbd, Feature, type ImageOptions, type CloneOptions, type ImageSpec, type TrashEntry } from './rbd.js';
export {
  Image,
  validateImageName,
  validateSnapName,
  type Progress,
  type ProgressOptions,
  type ParentInfo,
  type ChildInfo,
  type SnapshotInfo,
  type Watcher,
  type ImageStat,
  type Extent,
} from './image.js';
