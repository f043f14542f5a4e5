import type { Command } from "commander";

/** `herald demo`: emulator + Herald on a fresh SQLite file; see src/demo/. */
export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("Start a local Teams emulator and Herald, install the bot for everyone and send a first broadcast.")
    .option("--users <n>", "users in the sample organisation", "3000")
    .option("--port <n>", "Herald's port", "3978")
    .option("--emulator-port <n>", "the emulator's port", "3999")
    .action(async (opts: Record<string, string>) => {
      const { runDemo } = await import("../demo/run.js");
      await runDemo({ users: Number(opts["users"]), port: Number(opts["port"]), emulatorPort: Number(opts["emulatorPort"]) });
    });
}
