/** Herald as a library: `createHerald(options)` and what its callers need to name. */
export { createHerald, type HeraldLibrary, type NotificationRequestInput } from "./create.js";
export { HeraldError } from "./errors.js";
export { type CardActionFallback, type HeraldLibraryOptions, type HeraldSettings, libraryConfig, type SettingInput } from "./options.js";
