export { formatObserved } from "./format.js";
export { configFromLab, type LabConfigOptions } from "./lab-config.js";
export { type Observer, observe } from "./observer.js";
export { type Decider, type Stack, type StackOptions, serviceMain, startStack } from "./stack.js";
