export * from "./argv.js";
export * from "./backup-info.js";
export * from "./datadir-policy.js";
export * from "./programs.js";
export * from "./shell.js";
export * from "./ssh/session.js";
export * from "./sudoers.js";
export * from "./validate.js";
