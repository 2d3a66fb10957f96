export { Quarantine, type IsolateExpectation, type IsolateOptions, type QuarantineOptions, type QuarantineRecord, type RecoveryReport, type RestoreOptions } from './quarantine.js';
