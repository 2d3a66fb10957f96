export { ResourceMonitor, type HostInventory, type ResourceMonitorEvents } from './monitor.js';
export type { ResourceMonitorOptions } from './options.js';
export { defaultResourceRules, type ResourceRule } from './rules.js';
export type { AnomalyOptions } from './anomaly.js';
export { RESOURCE_METRICS, type ResourceMetric } from './metrics.js';
export { ProcfsSampleSource, type MountFilterOptions, type ProcfsSampleSourceOptions } from './procfs-source.js';
export { SystemInformationSampleSource, type SystemInformationSampleSourceOptions } from './systeminformation-source.js';
export { systemInformationProcesses, type ProcessInfo, type ProcessLister } from './processes.js';
export { NETWORK_FS_TYPES, PSEUDO_FS_TYPES } from './mounts.js';
export type {
  CgroupCpuSample,
  CgroupMemorySample,
  CgroupSample,
  CpuSample,
  DiskSample,
  LoadSample,
  MemorySample,
  ResourceReading,
  ResourceSample,
  ResourceSampleSource,
  ResourceScope,
  SwapSample,
} from './sample.js';
