export { Quarantine, type IsolateExpectation, type IsolateOptions, type QuarantineOptions, type QuarantineRecord, type RestoreOptions } from './quarantine.js';
