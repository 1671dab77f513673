export { readConfig, ROLES, ConfigError, type CityOpsConfig, type Role } from './config.js';
export { startSystem, VERSION, type RunningSystem, type SystemOptions } from './system.js';
export { runDoctor, type DoctorCheck } from './doctor.js';
