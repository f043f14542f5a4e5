import type { Command } from "commander";
import { wholeNumber } from "./options.js";

/** `herald demo`: emulator + Herald on a fresh SQLite file; see src/demo/. */
export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Start a local Teams emulator and Herald, install the bot for most people and send a first broadcast that reaches the rest through proactive install.",
    )
    .option("--users <n>", "users in the sample organisation", wholeNumber("users"), 3000)
    .option("--port <n>", "Herald's port (0 = any free port)", wholeNumber("port"), 3978)
    .option("--emulator-port <n>", "the emulator's port (0 = any free port)", wholeNumber("emulator-port"), 3999)
    .action(async (opts: { users: number; port: number; emulatorPort: number }) => {
      const { runDemo } = await import("../demo/run.js");
      await runDemo({ users: opts.users, port: opts.port, emulatorPort: opts.emulatorPort });
    });
}
