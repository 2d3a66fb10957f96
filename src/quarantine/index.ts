export { Quarantine, type IsolateOptions, type QuarantineOptions, type QuarantineRecord, type RestoreOptions } from './quarantine.js';
