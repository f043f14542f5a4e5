#!/usr/bin/env node
import { Command } from "commander";
import { version } from "../index.js";
import { registerAppPackage } from "./app-package.js";
import { registerClientCommands } from "./client.js";
import { registerDemo } from "./demo.js";
import { registerEmulator } from "./emulator.js";
import { registerInstall } from "./install.js";
import { registerResponsesCommand } from "./responses.js";
import { registerSeriesCommands } from "./series.js";
import { registerServe, registerWorker } from "./serve.js";
import { receiveForwardedSignals } from "./young-generation.js";

// Hosted in a worker thread (`herald serve`, `herald worker`): the host's signals reach this thread.
receiveForwardedSignals();

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
registerSeriesCommands(program);
registerResponsesCommand(program);
registerAppPackage(program);
registerInstall(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`herald: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
