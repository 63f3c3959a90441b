/**
 * rbdctl: virtual-machine disks on Ceph RBD from Node.js.
 * @packageDocumentation
 */
export * from './driver/index.js';
export * from './image/index.js';
export * from './ceph/index.js';
export { clusterUp, clusterDown, clusterStatus, ClusterStartFailed, type ClusterStatus, type ClusterUpOptions, type DaemonStatus } from './cluster/local-cluster.js';
