#!/usr/bin/env node
import { Command } from "commander";
import { version } from "../index.js";
import { registerClientCommands } from "./client.js";
import { registerDemo } from "./demo.js";
import { registerEmulator } from "./emulator.js";
import { registerResponsesCommand } from "./responses.js";
import { registerServe, registerWorker } from "./serve.js";

const program = new Command()
  .name("herald")
  .description("Proactive messages into Microsoft Teams: references, 1:1 chats, rate limits, broadcasts, edit and recall.")
  .version(version)
  .showHelpAfterError();

registerServe(program);
registerWorker(program);
registerEmulator(program);
registerDemo(program);
registerClientCommands(program);
registerResponsesCommand(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`herald: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
