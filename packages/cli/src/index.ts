// @marina/cli: the `marina` command line (bin: dist/main.js). Its entry for other packages:
// running it in-process, its exit codes, and where a sandbox leaves its connection.
export { CliError, type CliErrorCode, EXIT, type ExitCode } from "./exit-codes.js";
export { type CliDeps, runCli } from "./program.js";
export { parseEnvLines, readSandboxEnv, sandboxEnvFile } from "./sandbox-env.js";
